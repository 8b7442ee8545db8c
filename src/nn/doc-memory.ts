import type { Kernels } from "../engine/kernels.js";
import type { Param } from "./param.js";
import type { BatchMemory } from "./batch.js";
import { exactly, freeParam, kernelBuffers, kernelParam, type KernelBuffer } from "./buffer.js";
import { LstmNerError } from "../util/errors.js";

/**
 * The document memory's values: one `width`-float row per slot (slots are
 * numbered by the encoder, see src/infer/doc-memory.ts), written with a
 * BiLSTM output and read as a constant (no gradient flows into it). Plain
 * JS memory in chunks, grown as slots are written: a training set's memory
 * can be far larger than any batch.
 */
export class MemoryStore {
  private static readonly CHUNK = 1024;
  private chunks: (Float32Array | undefined)[] = [];
  private written = new Uint8Array(0);
  private count = 0;

  constructor(readonly width: number) {}

  /** Slots written since the last {@link clear}. */
  get size(): number {
    return this.count;
  }

  /** Whether `slot` holds a value. */
  has(slot: number): boolean {
    return slot < this.written.length && this.written[slot] === 1;
  }

  /** The value of a written slot (a view; valid until the store is cleared). */
  row(slot: number): Float32Array {
    if (!this.has(slot)) throw new Error(`MemoryStore: slot ${slot} was never written`);
    const c = this.chunks[Math.floor(slot / MemoryStore.CHUNK)]!;
    const at = (slot % MemoryStore.CHUNK) * this.width;
    return c.subarray(at, at + this.width);
  }

  /** Store `value` (`width` floats, copied) in `slot`, replacing what it held. */
  write(slot: number, value: Float32Array): void {
    if (!Number.isInteger(slot) || slot < 0) throw new LstmNerError(`document memory: slot ${slot} is not a whole number ≥ 0`);
    const ci = Math.floor(slot / MemoryStore.CHUNK);
    const c = this.chunks[ci] ?? (this.chunks[ci] = new Float32Array(MemoryStore.CHUNK * this.width));
    c.set(value.subarray(0, this.width), (slot % MemoryStore.CHUNK) * this.width);
    if (slot >= this.written.length) {
      const grown = new Uint8Array(Math.max(slot + 1, this.written.length * 2, MemoryStore.CHUNK));
      grown.set(this.written);
      this.written = grown;
    }
    if (this.written[slot] === 0) this.count++;
    this.written[slot] = 1;
  }

  /** Forget every slot (and give the memory back). */
  clear(): void {
    this.chunks = [];
    this.written = new Uint8Array(0);
    this.count = 0;
  }
}

/**
 * Attention over the document memory (Luo, Xiao & Zhao, AAAI 2020), for D =
 * `width`. For row i with input h_i and the written memory rows m_1..m_k it
 * reads (`BatchMemory`: the other occurrences of its word in its document):
 *
 *   p_i = h_iᵀ W                    (P = H·W, one GEMM over all rows)
 *   s_j = p_i · m_j / √D            (scaled bilinear score)
 *   a   = softmax(s)
 *   g_i = Σ_j a_j m_j               (g_i = 0 when k = 0)
 *   y_i = [h_i ; g_i]               (2D wide; the output layer reads it)
 *
 * W (D×D, `<name>.w`) starts as the identity, i.e. as the scaled dot product
 * of the memory attention, and is learned. The memory rows are constants:
 * gradients reach h and W only. Per row, the scores and the weighted sum are
 * two small GEMMs over the row's gathered memory rows.
 */
export class DocMemoryAttention {
  readonly w: Param;
  private readonly buf: Record<"y" | "p" | "g" | "a" | "dp" | "dx" | "da", KernelBuffer>;
  private readonly scale: number;
  /** From the last forward kept for backward: its input, rows, and each row's first gathered memory row (rows+1 offsets). */
  private x: Float32Array | null = null;
  private rows = 0;
  private start = new Int32Array(1);

  constructor(private readonly k: Kernels, readonly width: number, name: string) {
    this.w = kernelParam(k, `${name}.w`, [width, width]);
    for (let i = 0; i < width; i++) this.w.value[i * width + i] = 1;
    this.buf = kernelBuffers(k, ["y", "p", "g", "a", "dp", "dx", "da"]);
    this.scale = 1 / Math.sqrt(width);
  }

  /** Trainable parameters: W. */
  params(): Param[] {
    return [this.w];
  }

  /**
   * y = [h ; g] for `rows` rows of h (rows×D, a kernel buffer), reading the
   * written slots of `store` that `mem` names for each row (unwritten ones are
   * left out, so a row reads k ≤ its refs). `keep`: keep what {@link backward}
   * needs (leave h untouched until then). Returns rows×2D, valid until the next forward.
   */
  forward(h: Float32Array, rows: number, mem: BatchMemory, store: MemoryStore, keep: boolean): Float32Array {
    const { k, width: D } = this;
    const x = exactly(h, rows * D, "DocMemoryAttention input");
    if (mem.offsets.length < rows + 1) throw new LstmNerError(`document memory: offsets for ${mem.offsets.length - 1} rows, the batch has ${rows}`);
    // Each row's readable slots (written ones), gathered row after row.
    const start = new Int32Array(rows + 1);
    const read: number[] = [];
    let widest = 0;
    for (let r = 0; r < rows; r++) {
      for (let j = mem.offsets[r]!; j < mem.offsets[r + 1]!; j++) if (store.has(mem.refs[j]!)) read.push(mem.refs[j]!);
      start[r + 1] = read.length;
      widest = Math.max(widest, read.length - start[r]!);
    }
    const y = this.buf.y.get(rows * 2 * D);
    for (let r = 0; r < rows; r++) {
      y.set(x.subarray(r * D, (r + 1) * D), r * 2 * D);
      y.fill(0, r * 2 * D + D, (r + 1) * 2 * D);
    }
    const total = read.length;
    if (total > 0) {
      const p = this.buf.p.get(rows * D);
      k.gemm(false, false, rows, D, D, x, this.w.value, p, 0); // P = H·W
      // Training keeps every row's gathered memory rows and weights; tagging reuses one row's worth.
      const g = this.buf.g.get((keep ? total : widest) * D);
      const a = this.buf.a.get(keep ? total : widest);
      for (let r = 0; r < rows; r++) {
        const n = start[r + 1]! - start[r]!;
        if (n === 0) continue;
        const at = keep ? start[r]! : 0;
        const gr = g.subarray(at * D, (at + n) * D);
        for (let j = 0; j < n; j++) gr.set(store.row(read[start[r]! + j]!), j * D);
        const ar = a.subarray(at, at + n);
        k.gemm(false, true, 1, n, D, p.subarray(r * D, (r + 1) * D), gr, ar, 0); // s = p_r·Mᵀ
        softmaxScaled(ar, this.scale); // a = softmax(s/√D)
        k.gemm(false, false, 1, D, n, ar, gr, y.subarray(r * 2 * D + D, (r + 1) * 2 * D), 0); // g = a·M
      }
    }
    this.x = keep ? x : null;
    this.rows = rows;
    this.start = start;
    return y;
  }

  /**
   * Given dL/dy (rows×2D), accumulate dL/dW and return dL/dh (rows×D, valid
   * until the next backward):
   *   da_j = dg·m_j;  ds_j = a_j (da_j − Σ_l a_l da_l);  dp = Σ_j ds_j m_j / √D
   *   dW += Hᵀ·dP;   dh = dy[:, :D] + dP·Wᵀ
   */
  backward(dy: Float32Array): Float32Array {
    const { k, width: D, rows, start } = this;
    if (this.x === null) throw new Error("DocMemoryAttention.backward called without a forward that kept its state");
    const d = exactly(dy, rows * 2 * D, "DocMemoryAttention output gradient");
    const dx = this.buf.dx.get(rows * D);
    const total = start[rows]!;
    if (total > 0) {
      const g = this.buf.g.get(total * D);
      const a = this.buf.a.get(total);
      const dp = this.buf.dp.get(rows * D).fill(0);
      let widest = 0;
      for (let r = 0; r < rows; r++) widest = Math.max(widest, start[r + 1]! - start[r]!);
      const da = this.buf.da.get(widest);
      for (let r = 0; r < rows; r++) {
        const n = start[r + 1]! - start[r]!;
        if (n === 0) continue;
        const gr = g.subarray(start[r]! * D, (start[r]! + n) * D);
        const ar = a.subarray(start[r]!, start[r]! + n);
        const dar = da.subarray(0, n);
        k.gemm(false, true, 1, n, D, d.subarray(r * 2 * D + D, (r + 1) * 2 * D), gr, dar, 0); // da = dg·Mᵀ
        let dot = 0;
        for (let j = 0; j < n; j++) dot += ar[j]! * dar[j]!;
        for (let j = 0; j < n; j++) dar[j] = ar[j]! * (dar[j]! - dot) * this.scale; // ds/√D (softmax backward)
        k.gemm(false, false, 1, D, n, dar, gr, dp.subarray(r * D, (r + 1) * D), 0); // dp = ds·M/√D
      }
      k.gemm(true, false, D, D, rows, this.x, dp, this.w.grad, 1); // dW += Hᵀ·dP
      k.gemm(false, true, rows, D, D, dp, this.w.value, dx, 0); // dh = dP·Wᵀ ...
      for (let r = 0; r < rows; r++) for (let c = 0; c < D; c++) dx[r * D + c]! += d[r * 2 * D + c]!; // ... + dy[:, :D]
    } else {
      for (let r = 0; r < rows; r++) dx.set(d.subarray(r * 2 * D, r * 2 * D + D), r * D);
    }
    return dx;
  }

  /** Free kernel memory (W included); the layer is unusable afterwards. */
  dispose(): void {
    for (const b of Object.values(this.buf)) b.release();
    freeParam(this.k, this.w);
  }
}

/** In place: v ← softmax(scale·v), stable (the max is subtracted first). */
function softmaxScaled(v: Float32Array, scale: number): void {
  let max = -Infinity;
  for (let j = 0; j < v.length; j++) max = Math.max(max, v[j]! * scale);
  let z = 0;
  for (let j = 0; j < v.length; j++) z += (v[j] = Math.exp(v[j]! * scale - max));
  for (let j = 0; j < v.length; j++) v[j]! /= z;
}
