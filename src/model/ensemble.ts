/**
 * One model file's worth of an ensemble (see `EnsembleTagger`): the checks
 * that its members can share one input and one output, and the assembly of
 * their configs and weights.
 */
import type { TagScheme } from "../data/types.js";
import { LstmNerError } from "../util/errors.js";
import { FEATURES } from "../features/registry.js";
import { readsChars, resolveSpec } from "../features/check.js";
import type { ModelConfig } from "./config.js";
import { ENSEMBLE_COMBINE, type EnsembleCombine, type SavedModel } from "./format.js";

/** What the assembly reads of each member (a `NerModel`). */
export interface EnsembleMember {
  readonly config: ModelConfig;
  readonly labels: readonly string[];
  readonly trainScheme: TagScheme;
  /** The data's scheme. */
  readonly scheme: TagScheme;
  readonly words: readonly string[];
  readonly embedding: Float32Array;
  toSaved(training: Record<string, unknown>): SavedModel;
}

/**
 * The fields of a model config that every ensemble member must share: one
 * encoder turns tokens into the batch all members read, so the word lookup
 * (lowercasing, digits, the word table's width and whether members fine-tuned
 * their own copy of it) and the tags' schemes must agree.
 */
const SHARED_INPUT: readonly { field: string; of: (c: ModelConfig) => unknown }[] = [
  { field: "embDim", of: (c) => c.embDim },
  { field: "trainableEmbeddings", of: (c) => c.trainableEmbeddings },
  { field: "lowercase", of: (c) => c.lowercase },
  { field: "normalizeDigits", of: (c) => c.normalizeDigits === true },
];

/** JSON with object keys in sorted order, so that two configs compare whatever order their fields were written in. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (typeof v === "object" && v !== null) {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(",")}}`;
  }
  return JSON.stringify(v) ?? "null";
}

/**
 * A model config as ensemble members are compared: the spec with the defaults
 * filled in (a feature left out reads as off, `layers` as one), so members
 * saved by different versions of the same recipe still match. Dropout only
 * acts in training: members trained with other rates tag through the same
 * layers, so they combine as one architecture.
 */
function comparableConfig(c: ModelConfig): string {
  if (!c.tagger) return canonical(c);
  const { inputDropout: _i, outputDropout: _o, ...spec } = resolveSpec(c.tagger);
  const tagging: Record<string, unknown> = { ...spec, layers: spec.layers ?? 1 };
  for (const f of FEATURES) tagging[f.field] = f.on(c.tagger) ? (tagging[f.field] ?? null) : null;
  return canonical({ ...c, tagger: tagging });
}

/**
 * One model file's worth of an ensemble of `models`, each member's weights
 * under `m<i>.`. The members share the labels and their scheme and
 * everything the one encoder needs (the vocabulary, the char vocabulary of
 * the members whose features read characters, the fields of
 * {@link SHARED_INPUT}); their specs may differ (layers, hidden size, char
 * CNN, casing, document memory, char LM, constraints). When they do, the
 * config lists every member's (`config.members`); members of one
 * architecture give the file they always gave. `combine` (default
 * "potentials") is stored as `config.combine` only when it is "vote".
 * @throws LstmNerError naming the member (`model <i>`) and the field that differs.
 */
export function assembleEnsemble(models: readonly EnsembleMember[], training: Record<string, unknown>,
  o: { combine?: EnsembleCombine } = {}): SavedModel {
  const combine = o.combine ?? "potentials";
  if (!ENSEMBLE_COMBINE.includes(combine)) throw new LstmNerError(`combine must be ${ENSEMBLE_COMBINE.join(" or ")}, got ${JSON.stringify(combine)}`);
  const first = models[0];
  if (first === undefined || models.length < 2) throw new LstmNerError(`an ensemble needs at least 2 models, got ${models.length}`);
  const params: SavedModel["params"] = {};
  // The members whose features read characters share the encoder's char vocabulary.
  const charModel = models.find((m) => m.config.tagger !== undefined && readsChars(m.config.tagger));
  models.forEach((m, i) => {
    const where = { file: `model ${i + 1}` };
    if (m.config.arch !== "feature") throw new LstmNerError(`its config.arch is "${m.config.arch}": only BiLSTM-CNN-CRF models (feature architecture, CRF output) can be combined`, where);
    if (m.config.ensemble) throw new LstmNerError("it is an ensemble already (config.ensemble): combine single models", where);
    if (m.config.tagger?.output !== "crf") throw new LstmNerError(`its config.tagger.output is "${m.config.tagger?.output}": only CRF taggers can be combined`, where);
    if (m.labels.join("\n") !== first.labels.join("\n") || m.trainScheme !== first.trainScheme) {
      throw new LstmNerError(`its labels differ from the first model's (${m.trainScheme} ${m.labels.join(" ")} against ${first.trainScheme} ${first.labels.join(" ")})`, where);
    }
    if (m.scheme !== first.scheme) throw new LstmNerError(`its config.dataScheme (${m.scheme}) differs from the first model's (${first.scheme})`, where);
    for (const { field, of } of SHARED_INPUT) {
      const [mine, theirs] = [JSON.stringify(of(m.config)), JSON.stringify(of(first.config))];
      if (mine !== theirs) throw new LstmNerError(`its config.${field} (${mine}) differs from the first model's (${theirs}); the members read one input`, where);
    }
    if (m.words.length !== first.words.length || m.words.some((w, j) => w !== first.words[j])) {
      throw new LstmNerError("its vocabulary differs from the first model's (train every member on the same data and vectors; the members read one word lookup)", where);
    }
    if (readsChars(m.config.tagger) && JSON.stringify(m.config.chars) !== JSON.stringify(charModel!.config.chars)) {
      throw new LstmNerError(`its config.chars (char vocabulary) differs from model ${models.indexOf(charModel!) + 1}'s (train every member on the same data)`, where);
    }
    for (const [name, p] of Object.entries(m.toSaved({}).params)) params[`m${i}.${name}`] = p;
    if (i > 0 && m.config.trainableEmbeddings) params[`m${i}.embedding.weight`] = { shape: [m.words.length + 2, m.config.embDim], data: m.embedding };
  });
  const mixed = models.some((m) => comparableConfig(m.config) !== comparableConfig(first.config));
  const config: ModelConfig = {
    ...first.config, ensemble: models.length,
    ...(mixed ? {
      ...(charModel !== undefined ? { chars: charModel.config.chars! } : {}),
      members: models.map((m) => ({ hidden: m.config.hidden, tagger: m.config.tagger! })),
    } : {}),
    ...(combine === "vote" ? { combine } : {}),
  };
  return { ...first.toSaved(training), config, params };
}
