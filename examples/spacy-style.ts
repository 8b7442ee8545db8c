/**
 * A spaCy-style session: tag a text with a trained model, print
 * tokens with their entity tags, the entities, and write displaCy-style HTML.
 *
 *   node dist/examples/spacy-style.js MODEL [OUT.html]
 */
import { writeFileSync } from "node:fs";
import { load, displacy } from "../src/index.js";

const [model = "models/seed.safetensors", out = "entities.html"] = process.argv.slice(2);
const nlp = await load(model);
const doc = nlp("Hello my name is Ross. I live in Denmark and work at Aarhus University, I am Scottish and today is Friday 27th.");
for (const t of doc) console.log(t.text, t.entType ? `${t.entIob}-${t.entType}` : t.entIob);
for (const e of doc.ents) console.log(e.text, e.label, e.start, e.end, e.startChar, e.endChar, e.confidence?.toFixed(3));
writeFileSync(out, displacy.render(doc, { style: "ent", page: true }));
