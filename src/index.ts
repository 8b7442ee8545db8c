/**
 * lstm-ner: neural named-entity recognition (BiLSTM taggers over GloVe
 * vectors) in TypeScript with WebAssembly SIMD kernels.
 *
 * The exports follow the classroom pipeline: data → vectors → batches →
 * model → training → scoring → tagging.
 * @packageDocumentation
 */
export { CONLL_LABELS, type Sentence, type TagScheme } from "./data/types.js";
export { parseConll, readConll, formatConll, writeConll } from "./data/conll.js";
export { chunks, convert, toIob1, toIob2, toBioes, detectScheme, entityTypes, labelsForScheme, type Chunk } from "./data/schemes.js";
export { loadDataset, datasetNames, labelsFound, type Dataset, type LoadDatasetOptions } from "./data/datasets.js";
export { tokenize, splitSentences, tokenizeSentences, type TextSpan } from "./data/tokenize.js";

export { loadVectors, readVectors, buildEmbedding, tokenId, tokenIds, KNOWN_VECTOR_NAMES, type Vectors, type LoadedVectors, type Embedding } from "./embeddings/index.js";

export { shuffled, batch, bucketBatches, padBatch, toIds, labelIds, type Batch, type IdSentence } from "./infer/batching.js";
export { train, evaluate, predictTags, predictIds, encodeSentences, type TrainOptions, type TrainResult, type EpochRecord, type Encoder, wordEncoder, idsToTags } from "./train/trainer.js";
export { PRESETS, getPreset, type Preset } from "./train/presets.js";

export { score, Scorer, type Score, type TypeScore } from "./eval/conlleval.js";
export { formatConllevalReport, scoreToJson, type ScoreJson } from "./eval/report.js";

export { NerModel, type NerModelOptions } from "./model/ner.js";
export { loadNerModel, saveNerModel } from "./model/ner-node.js";
export { encodeModel, parseModel, MODEL_FORMAT_VERSION, type ModelConfig, type SavedModel } from "./model/format.js";

export { getKernels, referenceKernels, loadWasmKernels, type Kernels } from "./engine/index.js";
export { SoftmaxTagger } from "./nn/softmax-tagger.js";
export { Adam } from "./nn/adam.js";

export { Rng } from "./util/random.js";
export { LstmNerError } from "./util/errors.js";
export { download } from "./util/download.js";
export { cacheDir } from "./util/cache.js";

export { load, createNlp, nlpFromBytes, Doc, Token, Span, displacy, type Nlp, type DocJSON } from "./pipeline/index.js";
export { FeatureTagger } from "./nn/feature-tagger.js";
export { type FeatureOptions, type OptimizerOptions } from "./model/ner.js";
