import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { load } from "../src/pipeline/index.js";
import type { DocJSON } from "../src/pipeline/doc.js";
import { toyModel } from "./pipeline-helpers.js";
import { runCli } from "./helpers.js";

// Emoji before and between entities shift UTF-16 offsets away from code points.
const TEXT = "😀 John Smith lives in London 👩‍👩‍👧 and works for Microsoft .";

function checkOffsets(json: DocJSON): void {
  const cps = [...json.text]; // code points, as Python's str indexes them
  assert.deepEqual(json.ents.map((e) => e.text), ["John Smith", "London", "Microsoft"]);
  for (const e of json.ents) {
    assert.equal(json.text.slice(e.startChar, e.endChar), e.text);
    assert.equal(cps.slice(e.codePointStart, e.codePointEnd).join(""), e.text);
  }
  // 😀 is one code point but two units; the family emoji is 5 code points (3 people, 2 joiners) and 8 units.
  assert.deepEqual(json.ents.map((e) => e.startChar - e.codePointStart), [1, 1, 4]);
  for (const t of json.tokens) assert.equal(cps.slice(t.codePointIdx, t.codePointIdx + [...t.text].length).join(""), t.text);
}

test("nlp(text) and predict --format jsonl give code-point offsets beside UTF-16 ones", async () => {
  const { file } = await toyModel();
  const nlp = await load(file);
  checkOffsets(nlp(TEXT).toJSON());
  const dir = mkdtempSync(path.join(tmpdir(), "lstm-ner-offsets-"));
  const r = runCli(["predict", "--model", file, "--format", "jsonl"], { input: TEXT + "\n", home: dir });
  assert.equal(r.code, 0, r.stderr);
  checkOffsets(JSON.parse(r.stdout) as DocJSON);
});
