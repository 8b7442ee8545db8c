/**
 * The checks of a model file, all here: its header fields (config, labels,
 * scheme, the spec and the ensemble's members), its tensor values, and its
 * weights' names and shapes against the network the config describes. A
 * file that was edited, damaged or written by something else is refused on
 * load with one line naming the field or tensor, never loaded to tag wrongly
 * or fail later as an internal error. No Node imports (the browser uses it).
 */
import type { TagScheme } from "../data/types.js";
import { entityTypes, labelsForScheme } from "../data/schemes.js";
import { checkSpec, readsChars } from "../features/check.js";
import { checkValue, type FieldRule } from "../features/spec.js";
import type { ModelConfig } from "./config.js";

const SCHEMES: readonly TagScheme[] = ["IOB1", "IOB2", "BIOES"];
const PREFIXES: Record<TagScheme, string> = { IOB1: "BI", IOB2: "BI", BIOES: "BIES" };

type Fail = (why: string) => Error;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Fields of `obj` against rules; `optional` ones may be absent. */
function checkFields(obj: Record<string, unknown>, prefix: string, fail: Fail, rules: Record<string, FieldRule>, optional: readonly string[] = []): void {
  for (const [k, rule] of Object.entries(rules)) if (obj[k] !== undefined || !optional.includes(k)) checkValue(obj[k], rule, prefix + k, fail);
}

/**
 * Check the header fields of a model file: config, labels, scheme. The label
 * list must match the outputs: a "feature" model has exactly its scheme's
 * labels; a "softmax" model may have extra outputs (the classroom model has
 * labels + 1, the extra reading as O), as many as its recipe's
 * `extraOutputs`, or at most one when the file does not record the recipe.
 * @param fail makes the error for a reason (naming the file).
 */
export function checkHeader(config: unknown, labels: unknown, scheme: unknown, training: unknown, fail: Fail): asserts config is ModelConfig {
  if (!isObject(config)) throw fail("config must be a JSON object");
  if (typeof scheme !== "string" || !(SCHEMES as readonly string[]).includes(scheme)) {
    throw fail(`metadata field "scheme" must be one of ${SCHEMES.join(", ")}, got ${JSON.stringify(scheme)}`);
  }
  if (!isObject(training)) throw fail(`metadata field "training" must be a JSON object`);
  checkFields(config, "config.", fail, {
    arch: ["softmax", "feature"], embDim: "positive", hidden: "positive", bidirectional: "boolean", outputs: "positive",
    trainableEmbeddings: "boolean", lowercase: "boolean", normalizeDigits: "boolean", dataScheme: SCHEMES,
  }, ["normalizeDigits", "dataScheme"]);
  if (!Array.isArray(labels) || labels.length === 0) throw fail("labels must be a non-empty list of strings");
  const seen = new Set<string>();
  labels.forEach((l, i) => {
    if (typeof l !== "string") throw fail(`labels[${i}] must be a string, got ${JSON.stringify(l)}`);
    if (!(l === "O" || (l.length > 2 && l[1] === "-" && PREFIXES[scheme as TagScheme].includes(l[0]!) && !/\s/.test(l)))) {
      throw fail(`labels[${i}] ${JSON.stringify(l)} is not a ${scheme} tag`);
    }
    if (seen.has(l)) throw fail(`labels[${i}] ${JSON.stringify(l)} appears twice`);
    seen.add(l);
  });
  const outputs = config.outputs as number;
  if (outputs < labels.length) throw fail(`labels has ${labels.length} entries but config.outputs is ${outputs}`);
  if (config.arch === "feature") {
    checkTagger(config.tagger, "config.tagger.", config, scheme, fail);
    checkEnsemble(config, scheme, fail);
    const full = labelsForScheme(entityTypes(labels as string[]), scheme as TagScheme);
    if (full.join("\n") !== (labels as string[]).join("\n")) throw fail(`labels must be the ${scheme} labels of their types in order (${full.join(" ")})`);
    if (outputs !== labels.length) throw fail(`labels has ${labels.length} entries but config.outputs is ${outputs}`);
  } else {
    if (config.ensemble !== undefined || config.members !== undefined) throw fail("config.ensemble must be a whole number ≥ 2 (feature architecture)");
    if (config.combine !== undefined) throw fail(`config.combine must be "vote" (or absent: "potentials") and needs config.ensemble, got ${JSON.stringify(config.combine)}`);
    const recipe = isObject(training.recipe) ? training.recipe : {};
    const extra = Number.isInteger(recipe.extraOutputs) ? recipe.extraOutputs as number : null;
    if (extra !== null ? outputs !== labels.length + extra : outputs > labels.length + 1) {
      throw fail(`labels has ${labels.length} entries but config.outputs is ${outputs}` +
        (extra !== null ? ` (the recipe has ${extra} extra output${extra === 1 ? "" : "s"})` : " (at most one extra output)"));
    }
  }
}

/** A model's spec (`config.tagger`, or an ensemble member's), fields named with `prefix`. */
function checkTagger(t: unknown, prefix: string, config: Record<string, unknown>, scheme: string, fail: Fail): void {
  checkSpec(t, prefix, fail);
  if (t.trainScheme !== scheme) throw fail(`${prefix}trainScheme (${t.trainScheme}) differs from the metadata field "scheme" (${scheme})`);
  if (readsChars(t)) {
    const chars = config.chars;
    if (!Array.isArray(chars) || chars.length === 0 || !chars.every((c) => typeof c === "string")) {
      throw fail(`config.chars must list the char vocabulary (${prefix.slice(0, -1)} has features that read characters)`);
    }
  }
}

/**
 * An ensemble's fields: `config.ensemble` members (at least 2); `config.members`, when present, one entry
 * per member, the first the top-level `hidden` and `tagger`; CRF taggers; `config.combine` "vote" or absent.
 */
function checkEnsemble(config: Record<string, unknown>, scheme: string, fail: Fail): void {
  if (config.ensemble !== undefined && (!Number.isInteger(config.ensemble) || (config.ensemble as number) < 2)) {
    throw fail("config.ensemble must be a whole number ≥ 2 (feature architecture)");
  }
  if (config.combine !== undefined && (config.ensemble === undefined || config.combine !== "vote")) {
    throw fail(`config.combine must be "vote" (or absent: "potentials") and needs config.ensemble, got ${JSON.stringify(config.combine)}`);
  }
  const members = config.members;
  if (members === undefined) return;
  if (!Array.isArray(members) || config.ensemble === undefined || members.length !== config.ensemble) {
    throw fail(`config.members must list the config.ensemble (${JSON.stringify(config.ensemble)}) members, got ${JSON.stringify(members)?.slice(0, 80)}`);
  }
  members.forEach((m: unknown, i) => {
    const at = `config.members[${i}].`;
    if (!isObject(m)) throw fail(`${at.slice(0, -1)} must be a JSON object`);
    checkFields(m, at, fail, { hidden: "positive" });
    checkTagger(m.tagger, `${at}tagger.`, config, scheme, fail);
    if ((m.tagger as { output: string }).output !== "crf") {
      throw fail(`${at}tagger.output must be "crf" (an ensemble combines CRF taggers), got ${JSON.stringify((m.tagger as { output: string }).output)}`);
    }
  });
  if (JSON.stringify(members[0]) !== JSON.stringify({ hidden: config.hidden, tagger: config.tagger })) {
    throw fail("config.members[0] must be the top-level config.hidden and config.tagger (member 0)");
  }
}

/**
 * The first non-finite value of an F32 tensor, or −1. Reads the exponent bits
 * (all ones: Inf or NaN) through an integer view, which is faster than float compares.
 */
export function firstNonFinite(data: Float32Array): number {
  const u = new Uint32Array(data.buffer, data.byteOffset, data.length);
  for (let i = 0; i < u.length; i++) if ((u[i]! & 0x7f800000) === 0x7f800000) return i;
  return -1;
}

/**
 * The file's weights against the network its config describes: every parameter the network has is there
 * with its shape (tensors it does not have are ignored).
 * @param fail makes the error for a reason (naming the file).
 */
export function checkParams(expected: readonly { name: string; shape: readonly number[] }[],
  params: Readonly<Record<string, { shape: readonly number[] }>>, fail: Fail): void {
  for (const { name, shape } of expected) {
    const t = params[name];
    if (!t) throw fail(`tensor param.${name} is missing`);
    if (t.shape.join(",") !== shape.join(",")) throw fail(`param.${name} has shape [${t.shape}], expected [${shape}]`);
  }
}
