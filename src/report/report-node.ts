/** Writing the HTML training report from Node (the chart script comes from the browser build). */
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { writeFileAtomic } from "../util/atomic.js";
import { LstmNerError } from "../util/errors.js";
import { renderTrainingReport } from "./html.js";
import { parseTrainingLog, type EpochLine } from "./log.js";

const BROWSER_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../build/browser");

async function asset(name: string): Promise<string> {
  try {
    return await fs.readFile(path.join(BROWSER_DIR, name), "utf8");
  } catch (err) {
    throw new LstmNerError(`the report's chart script is missing (run npm run build:browser)`, { file: path.join(BROWSER_DIR, name), cause: err });
  }
}

/** Render epoch lines to a self-contained HTML file, written atomically. */
export async function writeTrainingReport(lines: readonly EpochLine[], out: string, title: string): Promise<void> {
  const [script, css] = await Promise.all([asset("report.js"), asset("uPlot.min.css")]);
  await writeFileAtomic(out, renderTrainingReport(lines, { title, script, css }));
}

/** Read a JSON-lines training log; errors name the file and line. */
export async function readTrainingLog(file: string): Promise<EpochLine[]> {
  let text: string;
  try {
    text = await fs.readFile(file, "utf8");
  } catch (err) {
    throw new LstmNerError(`cannot read the training log (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { file, cause: err });
  }
  return parseTrainingLog(text, file);
}
