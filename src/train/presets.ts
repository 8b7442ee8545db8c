/**
 * Named training recipes. `seed` is the classic BiLSTM tagger: frozen
 * GloVe 50d, BiLSTM hidden 256, batch 32, Adam 1e-3, 10 epochs, per-token
 * log-softmax over labels + 1 outputs, plain shuffled batches. `accurate` is
 * the BiLSTM-CNN-CRF recipe (docs/experiments.md has the search behind it); `best`
 * adds the document memory to it.
 */
import type { Batching } from "./trainer.js";
import { checkValue, type FieldRule, type TaggerSpec } from "../features/spec.js";
import { checkSpec, optionalFields } from "../features/check.js";
import { LstmNerError } from "../util/errors.js";
import { removedSwitch } from "../model/legacy.js";

/** A complete training recipe. */
export interface Preset {
  name: string;
  description: string;
  dataset: string;
  embeddings: string;
  trainableEmbeddings: boolean;
  hidden: number;
  bidirectional: boolean;
  batchSize: number;
  lr: number;
  epochs: number;
  batching: Batching;
  /** Extra output units beyond the labels (the exercise has one). */
  extraOutputs: number;
  patience: number;
  optimizer: "adam" | "sgd";
  /** SGD momentum. */
  momentum: number;
  /** SGD: lr_t = lr / (1 + lrDecay·epoch). */
  lrDecay: number;
  /** Gradient-norm clipping (0 = off). */
  clipNorm: number;
  /** The BiLSTM-CNN-CRF model's spec (char CNN, casing, dropout, CRF, …); null = the classroom softmax model. */
  feature: TaggerSpec | null;
  /** Retry unknown tokens with digits replaced by 0. */
  normalizeDigits: boolean;
  /** Training words missing from the vectors with at least this count get their own rows (0 = off). */
  extendVocab: number;
  /**
   * Checkpoint averaging over the last N epochs' weights, evaluated and kept as the model (0 = off; see
   * `TrainOptions.averageLast`).
   */
  averageLast: number;
}

export const PRESETS: Record<string, Preset> = {
  seed: {
    name: "seed",
    description: "the classroom exercise: frozen GloVe 50d, BiLSTM 256, batch 32, Adam 1e-3, 10 epochs",
    dataset: "conllpp",
    embeddings: "glove-wiki-gigaword-50",
    trainableEmbeddings: false,
    hidden: 256,
    bidirectional: true,
    batchSize: 32,
    lr: 1e-3,
    epochs: 10,
    batching: "plain",
    extraOutputs: 1,
    patience: 0,
    optimizer: "adam",
    momentum: 0,
    lrDecay: 0,
    clipNorm: 0,
    feature: null,
    normalizeDigits: false,
    extendVocab: 0,
    averageLast: 0,
  },
  accurate: {
    name: "accurate",
    description: "BiLSTM-CNN-CRF: GloVe 100d fine-tuned, char CNN, casing, dropout 0.5, BIOES with constrained CRF",
    dataset: "conllpp",
    embeddings: "glove-wiki-gigaword-100",
    trainableEmbeddings: true,
    hidden: 200,
    bidirectional: true,
    batchSize: 10,
    lr: 0.015,
    epochs: 50,
    batching: "bucket",
    extraOutputs: 0,
    patience: 8,
    optimizer: "sgd",
    momentum: 0.9,
    lrDecay: 0.05,
    clipNorm: 5,
    feature: {
      chars: { dim: 30, filters: 30, window: 3 },
      casingDim: 10,
      inputDropout: 0.5,
      outputDropout: 0.5,
      output: "crf",
      trainScheme: "BIOES",
      constrained: true,
      charLM: null,
      layers: 1,
    },
    normalizeDigits: true,
    extendVocab: 2,
    averageLast: 0,
  },
};

// `best`: `accurate` with the document memory (Luo, Xiao & Zhao 2020), the best
// single model measured on CoNLL++ dev (docs/experiments.md) at about
// twice accurate's training time. The same run as
// `--preset accurate --set feature.docMemory=true`.
PRESETS.best = {
  ...PRESETS.accurate!,
  name: "best",
  description: "the accurate BiLSTM-CNN-CRF + a document memory: each occurrence of a word attends to the other occurrences in its document",
  feature: { ...PRESETS.accurate!.feature!, docMemory: true },
};

/** Look up a preset by name; the error lists the known ones. */
export function getPreset(name: string): Preset {
  const p = PRESETS[name];
  if (!p) throw new LstmNerError(`unknown preset ${JSON.stringify(name)} (known: ${Object.keys(PRESETS).join(", ")})`);
  return { ...p };
}

/**
 * A preset with `key=value` overrides applied: dotted keys reach into nested
 * fields (`feature.inputDropout=0.3`), values are JSON where they parse as
 * JSON and strings otherwise. Unknown keys are errors.
 */
export function applyOverrides(preset: Preset, overrides: readonly string[]): Preset {
  const out = structuredClone(preset) as unknown as Record<string, unknown>;
  for (const o of overrides) {
    const eq = o.indexOf("=");
    if (eq <= 0) throw new LstmNerError(`--set ${o}: expected key=value`);
    const keys = o.slice(0, eq).split(".");
    const raw = o.slice(eq + 1);
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      value = raw;
    }
    // These would reach Object.prototype (or silently do nothing) instead of a recipe field.
    const unsafe = keys.find((k) => k === "__proto__" || k === "constructor" || k === "prototype");
    if (unsafe !== undefined) throw new LstmNerError(`--set ${o}: ${unsafe} is not a recipe field and cannot be set`);
    const gone = keys[0] === "feature" && keys.length >= 2 ? removedSwitch(keys[1]!) : undefined;
    if (gone !== undefined) throw new LstmNerError(`--set ${o}: ${gone}`);
    let obj = out;
    for (const [i, k] of keys.entries()) {
      // An optional feature switch a preset leaves out (so its recipe, and the files it writes, stay as they were) can
      // still be set.
      const optional = i === 1 && i === keys.length - 1 && keys[0] === "feature" && optionalFields().includes(k);
      if (!Object.hasOwn(obj, k) && !optional) throw new LstmNerError(`--set ${o}: the preset has no field ${keys.slice(0, i + 1).join(".")}`);
      if (i === keys.length - 1) {
        obj[k] = value;
      } else {
        const next = obj[k];
        if (typeof next !== "object" || next === null) throw new LstmNerError(`--set ${o}: ${keys.slice(0, i + 1).join(".")} is not an object`);
        obj = next as Record<string, unknown>;
      }
    }
  }
  return overrides.length ? checkPreset(out as unknown as Preset, overrides.map((o) => `--set ${o}`).join(" ")) : out as unknown as Preset;
}

const PRESET_RULES: Record<Exclude<keyof Preset, "feature">, FieldRule> = {
  name: "string", description: "string", dataset: "string", embeddings: "string", trainableEmbeddings: "boolean",
  hidden: "positive", bidirectional: "boolean", batchSize: "positive", lr: "rate", epochs: "positive",
  batching: ["plain", "bucket"], extraOutputs: "count", patience: "count", optimizer: ["adam", "sgd"],
  momentum: "fraction", lrDecay: "nonneg", clipNorm: "nonneg", normalizeDigits: "boolean", extendVocab: "count", averageLast: "count",
};

/**
 * Check every field of a recipe (after `--set` overrides, say): the right
 * kind of value, a known choice for the string options, whole numbers where
 * sizes are meant, and no field the architecture would ignore
 * (`bidirectional: false` or `extraOutputs` with a feature model). A typo
 * must never quietly train something else.
 * @throws LstmNerError naming the field and the value.
 */
export function checkPreset(p: Preset, where = `preset ${p.name}`): Preset {
  const fail = (why: string): LstmNerError => new LstmNerError(`${where}: ${why}`);
  const rec = p as unknown as Record<string, unknown>;
  for (const k of Object.keys(rec)) if (k !== "feature" && !Object.hasOwn(PRESET_RULES, k)) throw fail(`unknown field ${k}`);
  for (const [k, rule] of Object.entries(PRESET_RULES)) checkValue(rec[k], rule, k, fail);
  if (p.feature !== null) {
    if (typeof p.feature !== "object" || Array.isArray(p.feature)) throw fail(`feature must be an object or null, got ${JSON.stringify(p.feature)}`);
    checkSpec(p.feature, "feature.", fail);
    // The feature architecture has no use for these: refuse them rather than train something other than asked.
    if (!p.bidirectional) {
      throw fail("bidirectional=false (--unidirectional) does not apply to the feature architecture, which is always a BiLSTM; drop it or use a preset with feature=null");
    }
    if (p.extraOutputs !== 0) {
      throw fail(`extraOutputs=${p.extraOutputs} does not apply to the feature architecture, which has one output per label; set extraOutputs=0`);
    }
  }
  return p;
}
