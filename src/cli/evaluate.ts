import { cliKernels, type KernelCliOptions } from "./kernels.js";
import { readGold, type DataFormat } from "./data-files.js";
import { loadNerModel } from "../model/file.js";
import { formatConllevalReport, scoreToJson } from "../eval/report.js";
import { evaluate } from "../eval/evaluate.js";
import type { TextEncodingName } from "../util/decode.js";

export interface EvaluateCliOptions extends KernelCliOptions {
  model: string;
  data: string;
  json?: boolean;
  encoding: TextEncodingName;
  inputFormat?: DataFormat;
  skipBadSpans?: boolean;
}

export async function runEvaluate(o: EvaluateCliOptions): Promise<void> {
  const model = await loadNerModel(o.model, await cliKernels(o));
  if (o.quantize === true) model.quantize({ embedding: true });
  const sentences = await readGold(o.data, {
    labels: model.dataLabels, encoding: o.encoding, skipBadSpans: o.skipBadSpans === true, ...(o.inputFormat ? { format: o.inputFormat } : {}),
  });
  const score = evaluate(model, sentences, model.encoder());
  process.stdout.write(o.json ? JSON.stringify(scoreToJson(score)) + "\n" : formatConllevalReport(score));
}
