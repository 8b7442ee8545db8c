import type { Kernels } from "../engine/kernels.js";
import type { Param } from "./param.js";
import { exactly, freeParam, kernelBuffers, kernelParam, type KernelBuffer } from "./buffer.js";
import { LstmNerError } from "../util/errors.js";

/**
 * A batch's document-memory addresses, built by the encoder from the words of
 * whole documents (src/features/memory-addresses.ts). Rows are those of the output
 * layer, time-major: r = t·B+b for t < `maxLen`.
 */
export interface BatchMemory {
  /**
   * T·B values: the memory slot row r's BiLSTM output is stored in, −1 for none (pads, words no other token reads).
   */
  slots: Int32Array;
  /** T·B+1 offsets into {@link refs}: row r attends to slots refs[offsets[r]] .. refs[offsets[r+1]−1]. */
  offsets: Int32Array;
  /** The slots of the other occurrences of each row's word in its document. */
  refs: Int32Array;
}

/**
 * The document memory's values: one `width`-float row per slot (slots are
 * numbered by the encoder, see src/features/memory-addresses.ts), written with a
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
 *   p_i = h_iᵀ W                    (P = H·W, one GEMM over the rows with k > 0)
 *   s_j = p_i · m_j / √D            (scaled bilinear score)
 *   a   = softmax(s)
 *   g_i = Σ_j a_j m_j               (g_i = 0 when k = 0)
 *   y_i = [h_i ; g_i]               (2D wide; the output layer reads it)
 *
 * W (D×D, `<name>.w`) starts as the identity, i.e. as the scaled dot product
 * of the memory attention, and is learned. The memory rows are constants:
 * gradients reach h and W only. Per row, the scores and the weighted sum are
 * two small GEMMs over the row's gathered memory rows. Rows that read nothing
 * (pads, words without another occurrence stored) skip the projection.
 */
export class DocMemoryAttention {
  readonly w: Param;
  private readonly buf: Record<"y" | "xr" | "p" | "g" | "a" | "dp" | "dxr" | "dx" | "da", KernelBuffer>;
  private readonly scale: number;
  private kept = false;
  /**
   * From the last forward: its rows, the rows that read something (`reading`), and each such row's first gathered
   * memory row (offsets, one more).
   */
  private rows = 0;
  private reading = new Int32Array(0);
  private start = new Int32Array(1);

  constructor(private readonly k: Kernels, readonly width: number, name: string) {
    this.w = kernelParam(k, `${name}.w`, [width, width]);
    for (let i = 0; i < width; i++) this.w.value[i * width + i] = 1;
    this.buf = kernelBuffers(k, ["y", "xr", "p", "g", "a", "dp", "dxr", "dx", "da"]);
    this.scale = 1 / Math.sqrt(width);
  }

  /** Trainable parameters: W. */
  params(): Param[] {
    return [this.w];
  }

  /**
   * y = [h ; g] for `rows` rows of h (rows×D), reading the written slots of
   * `store` that `mem` names for each row (unwritten ones are left out, so a
   * row reads k ≤ its refs). `keep`: keep what {@link backward} needs.
   * Returns rows×2D, valid until the next forward.
   */
  forward(h: Float32Array, rows: number, mem: BatchMemory, store: MemoryStore, keep: boolean): Float32Array {
    const { k, width: D } = this;
    const x = exactly(h, rows * D, "DocMemoryAttention input");
    if (mem.offsets.length < rows + 1) throw new LstmNerError(`document memory: offsets for ${mem.offsets.length - 1} rows, the batch has ${rows}`);
    // The rows that read something, and their readable (written) slots, gathered row after row.
    const reading: number[] = [];
    const start = [0];
    const read: number[] = [];
    let widest = 0;
    for (let r = 0; r < rows; r++) {
      const before = read.length;
      for (let j = mem.offsets[r]!; j < mem.offsets[r + 1]!; j++) if (store.has(mem.refs[j]!)) read.push(mem.refs[j]!);
      if (read.length === before) continue;
      reading.push(r);
      start.push(read.length);
      widest = Math.max(widest, read.length - before);
    }
    const y = this.buf.y.get(rows * 2 * D);
    for (let r = 0; r < rows; r++) {
      y.set(x.subarray(r * D, (r + 1) * D), r * 2 * D);
      y.fill(0, r * 2 * D + D, (r + 1) * 2 * D);
    }
    const m = reading.length;
    const total = read.length;
    if (m > 0) {
      const xr = this.buf.xr.get(m * D);
      reading.forEach((r, q) => xr.set(x.subarray(r * D, (r + 1) * D), q * D));
      const p = this.buf.p.get(m * D);
      k.gemm(false, false, m, D, D, xr, this.w.value, p, 0); // P = H·W (reading rows)
      // Training keeps every row's gathered memory rows and weights; tagging reuses one row's worth.
      const g = this.buf.g.get((keep ? total : widest) * D);
      const a = this.buf.a.get(keep ? total : widest);
      for (let q = 0; q < m; q++) {
        const r = reading[q]!;
        const n = start[q + 1]! - start[q]!;
        const at = keep ? start[q]! : 0;
        const gr = g.subarray(at * D, (at + n) * D);
        for (let j = 0; j < n; j++) gr.set(store.row(read[start[q]! + j]!), j * D);
        const ar = a.subarray(at, at + n);
        k.gemm(false, true, 1, n, D, p.subarray(q * D, (q + 1) * D), gr, ar, 0); // s = p_i·Mᵀ
        softmaxScaled(ar, this.scale); // a = softmax(s/√D)
        k.gemm(false, false, 1, D, n, ar, gr, y.subarray(r * 2 * D + D, (r + 1) * 2 * D), 0); // g = a·M
      }
    }
    this.kept = keep;
    this.rows = rows;
    this.reading = Int32Array.from(reading);
    this.start = Int32Array.from(start);
    return y;
  }

  /**
   * Given dL/dy (rows×2D), accumulate dL/dW and return dL/dh (rows×D, valid
   * until the next backward):
   *   da_j = dg·m_j;  ds_j = a_j (da_j − Σ_l a_l da_l);  dp = Σ_j ds_j m_j / √D
   *   dW += Hᵀ·dP;   dh = dy[:, :D] + dP·Wᵀ   (dp = 0 for rows that read nothing)
   */
  backward(dy: Float32Array): Float32Array {
    const { k, width: D, rows, reading, start } = this;
    if (!this.kept) throw new Error("DocMemoryAttention.backward called without a forward that kept its state");
    const d = exactly(dy, rows * 2 * D, "DocMemoryAttention output gradient");
    const dx = this.buf.dx.get(rows * D);
    for (let r = 0; r < rows; r++) dx.set(d.subarray(r * 2 * D, r * 2 * D + D), r * D); // dh = dy[:, :D] ...
    const m = reading.length;
    if (m === 0) return dx;
    const total = start[m]!;
    const g = this.buf.g.get(total * D);
    const a = this.buf.a.get(total);
    const xr = this.buf.xr.get(m * D);
    const dp = this.buf.dp.get(m * D);
    let widest = 0;
    for (let q = 0; q < m; q++) widest = Math.max(widest, start[q + 1]! - start[q]!);
    const da = this.buf.da.get(widest);
    for (let q = 0; q < m; q++) {
      const r = reading[q]!;
      const n = start[q + 1]! - start[q]!;
      const gr = g.subarray(start[q]! * D, (start[q]! + n) * D);
      const ar = a.subarray(start[q]!, start[q]! + n);
      const dar = da.subarray(0, n);
      k.gemm(false, true, 1, n, D, d.subarray(r * 2 * D + D, (r + 1) * 2 * D), gr, dar, 0); // da = dg·Mᵀ
      let dot = 0;
      for (let j = 0; j < n; j++) dot += ar[j]! * dar[j]!;
      for (let j = 0; j < n; j++) dar[j] = ar[j]! * (dar[j]! - dot) * this.scale; // ds/√D (softmax backward)
      k.gemm(false, false, 1, D, n, dar, gr, dp.subarray(q * D, (q + 1) * D), 0); // dp = ds·M/√D
    }
    k.gemm(true, false, D, D, m, xr, dp, this.w.grad, 1); // dW += Hᵀ·dP
    const dxr = this.buf.dxr.get(m * D);
    k.gemm(false, true, m, D, D, dp, this.w.value, dxr, 0); // ... + dP·Wᵀ
    for (let q = 0; q < m; q++) {
      const r = reading[q]!;
      for (let c = 0; c < D; c++) dx[r * D + c]! += dxr[q * D + c]!;
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
