import { readConll } from "../data/conll.js";
import { getKernels } from "../engine/index.js";
import { loadNerModel } from "../model/ner-node.js";
import { formatConllevalReport, scoreToJson } from "../eval/report.js";
import { evaluate } from "../train/trainer.js";

export interface EvaluateCliOptions {
  model: string;
  data: string;
  json?: boolean;
  kernels: "auto" | "wasm" | "reference";
}

export async function runEvaluate(o: EvaluateCliOptions): Promise<void> {
  const model = await loadNerModel(o.model, await getKernels(o.kernels));
  const sentences = await readConll(o.data, { labels: model.dataLabels });
  const score = evaluate(model, sentences, model.encoder());
  process.stdout.write(o.json ? JSON.stringify(scoreToJson(score)) + "\n" : formatConllevalReport(score));
}
