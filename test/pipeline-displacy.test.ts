import { test } from "node:test";
import assert from "node:assert/strict";
import { Doc } from "../src/pipeline/doc.js";
import { displacy, DEFAULT_COLORS } from "../src/pipeline/displacy-api.js";
import { LstmNerError } from "../src/util/errors.js";
import { tokenizeSentences } from "../src/data/tokenize.js";

function doc(text: string, tags: string[][]): Doc {
  return Doc.fromTagged(text, tokenizeSentences(text), tags, "IOB2");
}

const ross = doc("Hello my name is Ross. I live in Denmark and work at Aarhus University.", [
  ["O", "O", "O", "O", "B-PER", "O"],
  ["O", "O", "O", "B-LOC", "O", "O", "O", "B-ORG", "I-ORG", "O"],
]);

const marks = (html: string): [string, string, string][] =>
  [...html.matchAll(/<mark class="entity" data-label="([^"]*)"[^>]*style="background: ([^;]+);[^>]*>(.*?)<span[^>]*>\1<\/span><\/mark>/g)]
    .map((m) => [m[3]!, m[1]!, m[2]!]);

test("one coloured mark per entity, label after the text, text in between kept", () => {
  const html = displacy.render(ross, { style: "ent" });
  assert.deepEqual(marks(html), [["Ross", "PER", "#aa9cfc"], ["Denmark", "LOC", "#ff9561"], ["Aarhus University", "ORG", "#7aecec"]]);
  assert.match(html, /^<div class="entities" style="line-height: 2\.5; direction: ltr">Hello my name is <mark/);
  assert.match(html, /<\/mark>\. I live in <mark/);
  assert.ok(html.endsWith(".</div>"));
  // Stripping the tags and labels gives back the text.
  assert.equal(html.replace(/<span[^>]*>[^<]*<\/span>/g, "").replace(/<[^>]+>/g, ""), ross.text);
  assert.equal(DEFAULT_COLORS.ORG, "#7aecec");
});

test("colours can be set, labels filtered, unknown labels get displaCy's grey", () => {
  const misc = doc("The German team", [["O", "B-MISC", "O"]]);
  assert.deepEqual(marks(displacy.render(misc)), [["German", "MISC", "#ddd"]]);
  assert.deepEqual(marks(displacy.render(misc, { colors: { misc: "linear-gradient(90deg, #aa9cfc, #fc9ce7)" } })), [["German", "MISC", "linear-gradient(90deg, #aa9cfc, #fc9ce7)"]]);
  // A colour that could break out of the style attribute is ignored.
  assert.deepEqual(marks(displacy.render(misc, { colors: { MISC: "red\"><script>" } })), [["German", "MISC", "#ddd"]]);
  const onlyOrg = displacy.render(ross, { ents: ["org"] });
  assert.deepEqual(marks(onlyOrg).map((m) => m[1]), ["ORG"]);
  assert.ok(onlyOrg.includes("Hello my name is Ross."));
});

test("all text is HTML-escaped; newlines become <br>", () => {
  const text = "<b>Tom</b> & \"Jerry's\" <script>alert(1)</script>\nnext";
  const d = Doc.fromTagged(text, [[{ start: 3, end: 6 }]], [["B-PER"]], "IOB2");
  const html = displacy.render(d);
  assert.ok(!html.includes("<b>") && !html.includes("<script>"));
  assert.match(html, /^<div[^>]*>&lt;b&gt;<mark[^>]*>Tom<span/);
  assert.ok(html.includes("&lt;/b&gt; &amp; &quot;Jerry&#39;s&quot; &lt;script&gt;alert(1)&lt;/script&gt;<br>next"));
  const evil = Doc.fromTagged("x", [[{ start: 0, end: 1 }]], [["B-<img src=x onerror=alert(1)>"]], "IOB2");
  assert.ok(!displacy.render(evil).includes("<img"));
});

test("several docs, a whole page, JSON docs render the same, confidence as a tooltip", () => {
  const two = displacy.render([ross, ross]);
  assert.equal(two.match(/<div class="entities"/g)!.length, 2);
  const page = displacy.render(ross, { page: true, title: "a <title>" });
  assert.match(page, /^<!DOCTYPE html>\n<html lang="en">/);
  assert.ok(page.includes("<title>a &lt;title&gt;</title>") && page.includes('<meta charset="utf-8">'));
  assert.equal(page.match(/<figure/g)!.length, 1);
  assert.equal(displacy.render(ross.toJSON()), displacy.render(ross));
  const withConf = Doc.fromTagged("Anna", [[{ start: 0, end: 4 }]], [["B-PER"]], "IOB2", [[0.875]]);
  assert.match(displacy.render(withConf), /title="PER 87\.5%"/);
  assert.throws(() => displacy.render(ross, { style: "dep" as "ent" }), (e: unknown) => e instanceof LstmNerError && /unsupported style "dep"/.test(e.message));
});
