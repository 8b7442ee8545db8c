export type { Vectors, VectorFormat, ReadVectorsOptions } from "./types.js";
export { readVectors, parseVectorFile } from "./read.js";
export { loadVectors, KNOWN_VECTOR_NAMES, type LoadVectorsOptions, type LoadedVectors } from "./registry.js";
export { buildEmbedding, tokenId, tokenIds, type Embedding, type TokenIdOptions, type WordLookup } from "./vocab.js";
export { vectorCachePath, readVectorCache, writeVectorCache, encodeVectors, decodeVectors, hashFile, type VectorSource, type CacheRead } from "./cache.js";
export { pruneVectors, pruneRows, frequentRowsMask, type PrunedVectors } from "./prune.js";
export { encodeVectorTable, parseVectorTable, VECTORS_FORMAT } from "./table.js";
