/**
 * The models that come with the package, by name, in Node: `load("en")` and
 * `--model en` read the file the browser bundle fetches too (it sits beside
 * build/browser/lstm-ner.js, so one copy serves both).
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { LstmNerError } from "../util/errors.js";

const PACKAGED: Record<string, URL> = {
  en: new URL("../../../build/browser/en.safetensors", import.meta.url),
};

/** Names of the models that come with the package. */
export const PACKAGED_MODELS: readonly string[] = Object.keys(PACKAGED);

/**
 * The file of a model given by name ("en") or path: a packaged model's name
 * becomes its file in the package, anything else is a path, unchanged (write
 * `./en` for a file called `en`).
 * @throws LstmNerError when a packaged model's file is missing (a broken install).
 */
export function modelPath(model: string): string {
  const url = Object.hasOwn(PACKAGED, model) ? PACKAGED[model]! : undefined;
  if (url === undefined) return model;
  const file = fileURLToPath(url);
  if (!existsSync(file)) {
    throw new LstmNerError(`the model "${model}" is missing from the package: reinstall lstm-ner (in a clone of its repository: npm run build)`, { file });
  }
  return file;
}
