/**
 * lstm-ner: neural named-entity recognition (BiLSTM taggers over GloVe
 * vectors) in TypeScript with WebAssembly SIMD kernels.
 *
 * The exports follow the classroom pipeline: data → vectors → batches →
 * model → training → scoring → tagging, then the compute kernels and helpers.
 * @packageDocumentation
 */
export { CONLL_LABELS, type Sentence, type TagScheme } from "./data/types.js";
export { parseConll, readConll, formatConll, writeConll } from "./data/conll.js";
export { parseSpansJsonl, readSpansJsonl, formatSpansJsonl, writeSpansJsonl, retokenized, type SpansReadOptions, type SpansReadResult } from "./data/spans-jsonl.js";
export { chunks, convert, toIob1, toIob2, toBioes, detectScheme, entityTypes, labelsForScheme, type Chunk } from "./data/schemes.js";
export { loadDataset, datasetNames, labelsFound, type Dataset, type LoadDatasetOptions } from "./data/datasets.js";
export { tokenize, splitSentences, tokenizeSentences, type TextSpan } from "./data/tokenize.js";

export { loadVectors, readVectors, buildEmbedding, tokenId, tokenIds, KNOWN_VECTOR_NAMES, type Vectors, type LoadedVectors, type Embedding, type WordLookup } from "./embeddings/index.js";

export { padBatch, toIds, labelIds, type IdSentence, type LabelWhere } from "./encode/pad-batch.js";
export type { Batch } from "./nn/batch.js";
export type { BatchMemory } from "./nn/memory-attention.js";
export { buildCharVocab, charVocabFromList, sentenceChars, collateChars, CHAR_UNK, type CharVocab, type SentenceChars } from "./features/char-ids.js";
export { memoryAddresses, collateMemory, DOC_MEMORY_CAP, type DocMemoryOptions, type MemoryAddresses } from "./features/memory-addresses.js";
export { makeEncoder, encodeSentences, encodeAll, idsToTags, type Encoder, type EncoderOptions } from "./encode/encoder.js";
export { predictBatched, predictIds, predictTags, type Predictor } from "./encode/run-batched.js";

export type { Tagger, TaggerSizes, Prediction, Loss } from "./nn/tagger-common.js";
export { SoftmaxTagger, type SoftmaxTaggerConfig } from "./nn/softmax-tagger.js";
export { FeatureTagger, type FeatureTaggerConfig, type TaggerFeatures } from "./nn/feature-tagger.js";
export type { InputFeature, OutputFeature, FeatureMaker, TokenData, Pass, Phase } from "./nn/feature-layer.js";
export type { TaggerSpec, FeatureFields } from "./features/spec.js";
export { FEATURES } from "./features/registry.js";
export type { FeatureKind, BuildEnv, EncodeEnv } from "./features/kind.js";
export { EnsembleTagger } from "./nn/ensemble-tagger.js";
export { NerModel, type NerModelOptions } from "./model/ner.js";
export { importTorchModel, readTorchStateDict, type ImportTorchOptions, type StateTensor } from "./model/import-torch.js";
export { loadNerModel, saveNerModel } from "./model/file.js";
export { encodeModel, parseModel, MODEL_FORMAT_VERSION, type SavedModel } from "./model/format.js";
export type { ModelConfig } from "./model/config.js";

export { shuffled, batch, bucketBatches } from "./train/batching.js";
export { train, type TrainOptions, type TrainResult, type EpochRecord, type TrainableModel } from "./train/trainer.js";
export { createOptimizer, type Optimizer, type OptimizerOptions } from "./train/optimizer.js";
export { Adam } from "./nn/adam.js";
export { Sgd } from "./nn/sgd.js";
export { PRESETS, getPreset, type Preset } from "./train/presets.js";
export { buildRecipe, trainOptions, type Recipe, type RecipeInputs } from "./train/recipe.js";
export { saveCheckpoint, loadCheckpoint, type Checkpoint } from "./train/checkpoint.js";
export type { TrainState, StateValue } from "./train/trainer.js";

export { evaluate } from "./eval/evaluate.js";
export { score, Scorer, type Score, type TypeScore } from "./eval/conlleval.js";
export { formatConllevalReport, scoreToJson, type ScoreJson } from "./eval/report.js";

export { load, createNlp, nlpFromBytes, Doc, Token, Span, displacy, type Nlp, type DocJSON } from "./pipeline/index.js";
export { TaggerPool, type TaggerPoolOptions } from "./predict/pool.js";
export { enqueueDocs, startQueueWorker, collectResults, fileSha256, type QueueDoc, type QueueWorker, type QueueWorkerOptions, type EnqueueOptions, type CollectOptions, type CollectResult } from "./queue/index.js";
export { pruneModel } from "./model/prune-model.js";
export { STORAGE_DTYPES, type StorageDType, type Aliases } from "./tensors/storage.js";
export { pruneVectors, encodeVectorTable, parseVectorTable, type PrunedVectors } from "./embeddings/index.js";

export { getKernels, disposeKernels, referenceKernels, loadWasmKernels, type Kernels } from "./engine/index.js";

export { Rng } from "./util/random.js";
export { LstmNerError } from "./util/errors.js";
export { download } from "./util/download.js";
export { cacheDir } from "./util/cache.js";
export { decodeBytes, decodeStream, StrictDecoder, TEXT_ENCODINGS, type TextEncodingName } from "./util/decode.js";
export { readText, type ReadTextOptions } from "./util/read-text.js";
export { PACKAGED_MODELS, modelPath } from "./pipeline/packaged.js";
export { VERSION } from "./version.js";
