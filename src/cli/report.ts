import * as path from "node:path";
import { refuseOutputOverInput } from "../util/same-file.js";
import { readTrainingLog, writeTrainingReport } from "../report/report-node.js";

/** `lstm-ner report LOG --out FILE`. */
export async function runReport(log: string, o: { out: string }): Promise<void> {
  refuseOutputOverInput(o.out, "--out", [{ file: log, what: "training log" }]);
  const lines = await readTrainingLog(log);
  await writeTrainingReport(lines, o.out, path.basename(log));
  process.stdout.write(`${o.out}: ${lines.length} epochs\n`);
}
