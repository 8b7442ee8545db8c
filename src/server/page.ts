/**
 * The page served at `/`: paste text, press the button, see the entities
 * highlighted. It posts to `/ner` and draws the returned Doc JSON with the
 * library's own displacy module (served at `/displacy.js`).
 */
export const PAGE_HTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>lstm-ner</title>
<style>
  body { font-family: -apple-system, BlinkMacSystemFont, "Segoe UI", Helvetica, Arial, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
  textarea { width: 100%; box-sizing: border-box; font: inherit; padding: 0.5rem; }
  button { font: inherit; padding: 0.4rem 1.2rem; margin: 0.5rem 0; cursor: pointer; }
  #status { color: #666; margin-left: 1rem; }
  #error { color: #b00020; white-space: pre-wrap; }
  #result { margin: 1.5rem 0; font-size: 1.1rem; }
  table { border-collapse: collapse; font-size: 0.9rem; }
  td, th { padding: 0.2rem 0.8rem; text-align: left; border-bottom: 1px solid #eee; }
</style>
</head>
<body>
<h1>lstm-ner</h1>
<p id="model"></p>
<label for="text">Text</label>
<textarea id="text" rows="6">Hello my name is Ross. I live in Denmark and work at Aarhus University, I am Scottish and today is Friday 27th.</textarea>
<div><button id="tag" type="button">Find entities</button><span id="status"></span></div>
<div id="error" role="alert"></div>
<div id="result"></div>
<table id="ents" hidden><thead><tr><th>entity</th><th>label</th><th>characters</th><th>confidence</th></tr></thead><tbody></tbody></table>
<script type="module">
import { render, escapeHtml } from "./displacy.js";
const $ = (id) => document.getElementById(id);
fetch("./health").then((r) => r.json()).then((h) => {
  $("model").textContent = "Model: " + h.model.name + " (labels " + h.model.labels.join(" ") + ")";
}).catch(() => {});
async function tag() {
  $("error").textContent = "";
  $("status").textContent = "tagging…";
  $("tag").disabled = true;
  try {
    const res = await fetch("./ner", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ text: $("text").value }) });
    const body = await res.json();
    if (!res.ok) throw new Error(body.error ?? res.statusText);
    $("result").innerHTML = render(body);
    $("ents").querySelector("tbody").innerHTML = body.ents.map((e) =>
      "<tr><td>" + escapeHtml(e.text) + "</td><td>" + escapeHtml(e.label) + "</td><td>" + e.startChar + "–" + e.endChar +
      "</td><td>" + (e.confidence === undefined ? "" : (100 * e.confidence).toFixed(1) + "%") + "</td></tr>").join("");
    $("ents").hidden = body.ents.length === 0;
    $("status").textContent = body.tokens.length + " tokens, " + body.ents.length + " entities";
  } catch (e) {
    $("result").innerHTML = "";
    $("ents").hidden = true;
    $("status").textContent = "";
    $("error").textContent = String(e.message ?? e);
  } finally {
    $("tag").disabled = false;
  }
}
$("tag").addEventListener("click", tag);
$("text").addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) tag(); });
</script>
</body>
</html>
`;
