import * as path from "node:path";
import { readTrainingLog, writeTrainingReport } from "../report/report-node.js";

/** `lstm-ner report LOG --out FILE`. */
export async function runReport(log: string, o: { out: string }): Promise<void> {
  const lines = await readTrainingLog(log);
  await writeTrainingReport(lines, o.out, path.basename(log));
  process.stdout.write(`${o.out}: ${lines.length} epochs\n`);
}
