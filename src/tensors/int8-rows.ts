/**
 * Int8 rows with one float32 scale per row (value ≈ int8 · scale, scale =
 * max |row| / 127): the compact form of an embedding table, used both by
 * model files (`--dtype i8`, src/tensors/storage.ts) and by a quantized
 * `Embedding` (src/nn/embedding.ts) in memory, so the two give the same values.
 */
export interface Int8Rows {
  /** rows×cols int8 values, row-major. */
  q: Int8Array;
  /** One scale per row. */
  scale: Float32Array;
}

/** Quantize a rows×cols float32 matrix (finite values) to {@link Int8Rows}. */
export function quantizeRowsInt8(data: Float32Array, rows: number, cols: number): Int8Rows {
  const q = new Int8Array(rows * cols);
  const scale = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    let m = 0;
    for (let k = 0; k < cols; k++) m = Math.max(m, Math.abs(data[off + k]!));
    const s = m / 127;
    scale[r] = s;
    if (s > 0) for (let k = 0; k < cols; k++) q[off + k] = Math.round(data[off + k]! / s);
  }
  return { q, scale };
}
