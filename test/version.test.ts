import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as path from "node:path";
import { VERSION } from "../src/version.js";

test("src/version.ts agrees with package.json", () => {
  const pkg = JSON.parse(readFileSync(path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../package.json"), "utf8")) as { version: string };
  assert.equal(VERSION, pkg.version);
});
