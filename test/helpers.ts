import { fileURLToPath } from "node:url";
import * as path from "node:path";

/** Absolute path of a file in test/fixtures (tests run from dist/test). */
export function fixture(name: string): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../test/fixtures", name);
}
