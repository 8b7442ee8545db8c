/**
 * Checks of a model file's header fields and tensor values, so that a file
 * that was edited, damaged or written by something else is refused on load
 * with one line naming the field or tensor, never loaded to tag wrongly or
 * fail later as an internal error. No Node imports (the browser uses it).
 */
import type { TagScheme } from "../data/types.js";
import { entityTypes, labelsForScheme } from "../data/schemes.js";
import type { ModelConfig } from "./config.js";
import { LM_SOFTMAXES } from "../nn/lm-softmax.js";

const SCHEMES: readonly TagScheme[] = ["IOB1", "IOB2", "BIOES"];
const PREFIXES: Record<TagScheme, string> = { IOB1: "BI", IOB2: "BI", BIOES: "BIES" };

type Fail = (why: string) => Error;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Fields of `obj` against kinds; absent optional fields pass. */
function checkFields(obj: Record<string, unknown>, prefix: string, fail: Fail,
  rules: Record<string, "positive" | "count" | "fraction" | "boolean" | "boolean?" | readonly string[]>): void {
  for (const [k, rule] of Object.entries(rules)) {
    const v = obj[k];
    const field = `${prefix}${k}`;
    const got = v === undefined ? "nothing" : JSON.stringify(v);
    if (rule === "boolean?") {
      if (v !== undefined && typeof v !== "boolean") throw fail(`${field} must be true or false, got ${got}`);
    } else if (rule === "boolean") {
      if (typeof v !== "boolean") throw fail(`${field} must be true or false, got ${got}`);
    } else if (Array.isArray(rule)) {
      if (typeof v !== "string" || !rule.includes(v)) throw fail(`${field} must be one of ${rule.join(", ")}, got ${got}`);
    } else if (rule === "positive") {
      if (!Number.isInteger(v) || (v as number) < 1) throw fail(`${field} must be a whole number ≥ 1, got ${got}`);
    } else if (rule === "count") {
      if (!Number.isInteger(v) || (v as number) < 0) throw fail(`${field} must be a whole number ≥ 0, got ${got}`);
    } else if (typeof v !== "number" || !(v >= 0 && v < 1)) {
      throw fail(`${field} must be a number in [0, 1), got ${got}`);
    }
  }
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
  checkFields(config, "config.", fail, {
    arch: ["softmax", "feature"], embDim: "positive", hidden: "positive", bidirectional: "boolean", outputs: "positive",
    trainableEmbeddings: "boolean", lowercase: "boolean", normalizeDigits: "boolean?",
  });
  if (config.dataScheme !== undefined) checkFields(config, "config.", fail, { dataScheme: SCHEMES });
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
    checkTagger(config.tagger, "config.tagger.", config, fail);
    if (config.members !== undefined) checkMembers(config, fail);
    const full = labelsForScheme(entityTypes(labels as string[]), scheme as TagScheme);
    if (full.join("\n") !== (labels as string[]).join("\n")) throw fail(`labels must be the ${scheme} labels of their types in order (${full.join(" ")})`);
    if (outputs !== labels.length) throw fail(`labels has ${labels.length} entries but config.outputs is ${outputs}`);
  } else {
    const recipe = isObject(training) && isObject(training.recipe) ? training.recipe : {};
    const extra = Number.isInteger(recipe.extraOutputs) ? recipe.extraOutputs as number : null;
    if (extra !== null ? outputs !== labels.length + extra : outputs > labels.length + 1) {
      throw fail(`labels has ${labels.length} entries but config.outputs is ${outputs}` +
        (extra !== null ? ` (the recipe has ${extra} extra output${extra === 1 ? "" : "s"})` : " (at most one extra output)"));
    }
  }
}

/** A feature tagger's config (`config.tagger`, or an ensemble member's), fields named with `prefix`. */
function checkTagger(t: unknown, prefix: string, config: Record<string, unknown>, fail: Fail): asserts t is Record<string, unknown> {
  if (!isObject(t)) throw fail(`${prefix.slice(0, -1)} must be a JSON object`);
  checkFields(t, prefix, fail, {
    charVocabSize: "count", charDim: "positive", charFilters: "positive", charWindow: "positive", casingDim: "count",
    inputDropout: "fraction", outputDropout: "fraction", output: ["crf", "softmax"], crfReduction: ["mean", "sum"], constrained: "boolean",
  });
  if (t.layers !== undefined) checkFields(t, prefix, fail, { layers: "positive" });
  checkFields(t, prefix, fail, { docMemory: "boolean?" });
  if (t.charLM !== undefined) {
    if (!isObject(t.charLM)) throw fail(`${prefix}charLM must be a JSON object, got ${JSON.stringify(t.charLM)}`);
    checkFields(t.charLM, `${prefix}charLM.`, fail, { dim: "positive", hidden: "positive", vocab: "positive", dropout: "fraction" });
    if (t.charLM.softmax !== undefined) checkFields(t.charLM, `${prefix}charLM.`, fail, { softmax: LM_SOFTMAXES });
    const w = t.charLM.lmWeight;
    if (typeof w !== "number" || !(w >= 0 && Number.isFinite(w))) throw fail(`${prefix}charLM.lmWeight must be a number ≥ 0, got ${JSON.stringify(w)}`);
    if (!((t.charVocabSize as number) > 0)) throw fail(`${prefix}charLM needs char features (${prefix}charVocabSize > 0)`);
  }
  if ((t.charVocabSize as number) > 0) {
    const chars = config.chars;
    if (!Array.isArray(chars) || chars.length !== t.charVocabSize || !chars.every((c) => typeof c === "string")) {
      throw fail(`config.chars must list the ${String(t.charVocabSize)} chars of ${prefix}charVocabSize`);
    }
  }
}

/**
 * `config.members` of an ensemble of mixed architectures: one entry per member
 * (`config.ensemble` of them), the first the top-level `hidden` and `tagger`;
 * CRF taggers.
 */
function checkMembers(config: Record<string, unknown>, fail: Fail): void {
  const members = config.members;
  if (!Array.isArray(members) || !Number.isInteger(config.ensemble) || members.length !== config.ensemble) {
    throw fail(`config.members must list the config.ensemble (${JSON.stringify(config.ensemble)}) members, got ${JSON.stringify(members)?.slice(0, 80)}`);
  }
  members.forEach((m: unknown, i) => {
    const at = `config.members[${i}].`;
    if (!isObject(m)) throw fail(`${at.slice(0, -1)} must be a JSON object`);
    checkFields(m, at, fail, { hidden: "positive" });
    checkTagger(m.tagger, `${at}tagger.`, config, fail);
    if (m.tagger.output !== "crf") throw fail(`${at}tagger.output must be "crf" (an ensemble combines CRF taggers), got ${JSON.stringify(m.tagger.output)}`);
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
