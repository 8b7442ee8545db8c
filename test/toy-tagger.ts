/**
 * Feature taggers and their batches for the layer tests, from the old flat
 * settings (charVocabSize, casingDim, charLM, docMemory, …): the same
 * features the model builder gives a spec, over a given word table.
 */
import type { Kernels } from "../src/engine/kernels.js";
import { Rng } from "../src/util/random.js";
import { FeatureTagger, type FeatureTaggerConfig } from "../src/nn/feature-tagger.js";
import type { Batch } from "../src/nn/batch.js";
import type { CharLmConfig } from "../src/nn/char-language-model.js";
import { padBatch, type IdSentence } from "../src/encode/pad-batch.js";
import { wordEmbedding } from "../src/features/word.js";
import { checkSpec, featuresOf } from "../src/features/check.js";
import { LstmNerError } from "../src/util/errors.js";
import type { CharLmFeature } from "../src/features/char-lm.js";
import type { CharLm } from "../src/nn/char-language-model.js";
import type { BuildEnv } from "../src/features/kind.js";
import type { TaggerSpec } from "../src/features/spec.js";
import { charData, type CharVocab } from "../src/features/char-ids.js";
import { casingData } from "../src/features/casing.js";
import { collateMemory, type MemoryAddresses } from "../src/features/memory-addresses.js";

/** A tagger's sizes, switches and training settings. */
export interface ToyTaggerConfig extends FeatureTaggerConfig {
  vocabSize: number;
  embDim: number;
  trainableEmbeddings?: boolean;
  /** Size of the char vocabulary; 0 (default): no char CNN. */
  charVocabSize?: number;
  charDim?: number;
  charFilters?: number;
  charWindow?: number;
  casingDim?: number;
  charLM?: Partial<CharLmConfig> | null;
  /** The char LM's class of every word row (builds its LM head); null: no head. */
  lmClasses?: Int32Array | null;
  docMemory?: boolean;
}

/** Training rows for which `lmClassesOf` gives `classes` back (class c of `vocab` is seen vocab + 1 − c times). */
function rowsFor(classes: Int32Array): number[] {
  const vocab = Math.max(0, ...classes);
  return Array.from(classes).flatMap((c, row) => (c > 0 ? Array<number>(vocab + 1 - c).fill(row) : []));
}

/** The spec these settings describe. */
export function specOf(c: ToyTaggerConfig): TaggerSpec {
  return {
    chars: (c.charVocabSize ?? 0) > 0 ? { dim: c.charDim ?? 30, filters: c.charFilters ?? 30, window: c.charWindow ?? 3 } : null,
    casingDim: c.casingDim ?? 0, inputDropout: c.inputDropout ?? 0.5, outputDropout: c.outputDropout ?? 0.5, output: c.output ?? "crf",
    trainScheme: "IOB2", constrained: c.constraints != null, layers: c.layers ?? 1, charLM: c.charLM ?? null, docMemory: c.docMemory ?? false,
  };
}

/** A feature tagger with these settings over `table` (vocabSize×embDim, used in place), initialised from `rng`. */
export function toyTagger(kern: Kernels, c: ToyTaggerConfig, table: Float32Array, rng: Rng): FeatureTagger {
  const spec = specOf(c);
  checkSpec(spec, "feature.", (why) => new LstmNerError(why));
  const env: BuildEnv = {
    kernels: kern, spec, hidden: c.hidden ?? 200,
    words: { table, rows: c.vocabSize, dim: c.embDim, trainable: c.trainableEmbeddings ?? false },
    chars: c.charVocabSize ?? 0,
    training: c.lmClasses ? { rows: () => rowsFor(c.lmClasses!), skip: [] } : null,
  };
  const kinds = featuresOf(spec);
  const { vocabSize: _v, embDim: _e, trainableEmbeddings: _t, charVocabSize: _c, charDim: _d, charFilters: _f, charWindow: _w, casingDim: _k,
    charLM: _l, lmClasses: _m, docMemory: _n, ...tagger } = c;
  return new FeatureTagger(kern, tagger, {
    input: [wordEmbedding(env), ...kinds.flatMap((x) => (x.input ? [x.input(env)] : []))],
    output: kinds.flatMap((x) => (x.output ? [x.output(env)] : [])),
  }, rng);
}

/**
 * Sentences padded into a batch with their chars and casing classes (`vocab` given) and, when `memory`
 * is, their document-memory addresses.
 */
export function toyBatch(items: readonly IdSentence[], tokens: readonly (readonly string[])[], vocab: CharVocab | null,
  memory?: readonly MemoryAddresses[]): Batch {
  const batch = padBatch(items, 0);
  const ids = items.map((it) => Int32Array.from(it.ids));
  const inputs: Record<string, unknown> = {};
  if (vocab !== null) {
    const chars = charData(vocab);
    inputs.chars = chars.collate(chars.encode(tokens, ids), batch);
    inputs.casing = casingData.collate(casingData.encode(tokens, ids), batch);
  }
  if (memory !== undefined) inputs.memory = collateMemory(memory, batch.lengths, batch.maxLen);
  return { ...batch, inputs };
}

/** The char LM layer of a tagger that has one. */
export function charLmOf(tagger: FeatureTagger): CharLm {
  const f = tagger.inputs.find((x) => "lm" in x) as CharLmFeature | undefined;
  if (f === undefined) throw new Error("the tagger has no char LM");
  return f.lm;
}

export { Rng };
