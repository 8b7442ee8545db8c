/**
 * The kernel interface: every hot loop of the engine goes through one of these
 * functions. There are two implementations with identical semantics:
 * `referenceKernels` (plain TypeScript, the specification) and the WebAssembly
 * SIMD kernels built from `assembly/` (the fast path). Tests run both and compare.
 *
 * Conventions: all matrices are row-major and contiguous; shapes are passed
 * explicitly. Arrays passed to the WASM implementation must come from its
 * `alloc`/`allocInt32` (they live in its linear memory); arrays from elsewhere
 * still work but are copied in and out, which is slow.
 *
 * LSTM gate order is PyTorch's: i, f, g, o (each a block of H columns in a row
 * of 4H).
 */
export interface Kernels {
  /** "reference", "wasm-simd" or "wasm-simd-relaxed". */
  readonly name: string;

  /** A zero-filled float buffer that the kernels can use without copying. */
  alloc(n: number): Float32Array;
  /** A zero-filled int buffer that the kernels can use without copying. */
  allocInt32(n: number): Int32Array;
  /** Return a buffer from `alloc`/`allocInt32` for reuse. Using it afterwards is an error. */
  free(buf: Float32Array | Int32Array): void;

  /**
   * General matrix product: C = op(A)·op(B) + beta·C, with op(X) = Xᵀ when the
   * trans flag is set. op(A) is m×k, op(B) is k×n, C is m×n. A is stored m×k
   * (or k×m when transA), B is stored k×n (or n×k when transB). beta is 0 or 1.
   */
  gemm(transA: boolean, transB: boolean, m: number, n: number, k: number,
    a: Float32Array, b: Float32Array, c: Float32Array, beta: 0 | 1): void;

  /** x[r, :] += bias for each of the `rows` rows of the rows×cols matrix x. */
  addBias(rows: number, cols: number, x: Float32Array, bias: Float32Array): void;

  /** out[j] = beta·out[j] + Σ_r x[r, j]  (bias gradients). beta is 0 or 1. */
  sumRows(rows: number, cols: number, x: Float32Array, out: Float32Array, beta: 0 | 1): void;

  /**
   * One LSTM step for a batch of `batch` rows, hidden size `hidden`.
   * In: `gates` (batch×4H) holds the pre-activations W·x + U·h + b; `cPrev` (batch×H).
   * Out: `gates` is overwritten with the activations (σ(i), σ(f), tanh(g), σ(o)),
   * `c` = σf⊙cPrev + σi⊙tanh(g), `h` = σo⊙tanh(c). `h` and `c` are batch×H.
   * `h` may be a strided destination: row r is written at h[r*hStride ...]
   * (hStride ≥ hidden), so a BiLSTM can write straight into its concatenated output.
   */
  lstmCellForward(batch: number, hidden: number, gates: Float32Array, cPrev: Float32Array,
    c: Float32Array, h: Float32Array, hStride: number): void;

  /**
   * Backward of `lstmCellForward`. In: the activations in `gates`, `cPrev`, `c`,
   * `dh` (gradient w.r.t. h, strided like h), `dc` (gradient w.r.t. c from the
   * next step, batch×H). Out: `dGates` (batch×4H, gradient w.r.t. the
   * pre-activations), and `dc` overwritten with the gradient w.r.t. cPrev.
   */
  lstmCellBackward(batch: number, hidden: number, gates: Float32Array, cPrev: Float32Array,
    c: Float32Array, dh: Float32Array, dhStride: number, dc: Float32Array, dGates: Float32Array): void;

  /**
   * Forward of whole LSTM directions, each over a packed sequence (see
   * {@link LstmSequence}): input projection, recurrence and cell for every
   * step in one call. The sequences are independent, so an implementation may
   * run them concurrently (the WASM kernels put the second on a worker
   * thread); results do not depend on that beyond float rounding.
   */
  lstmForward(seqs: readonly LstmSequence[]): void;

  /**
   * Inference-only forward of whole LSTM directions: the same `h` as
   * {@link lstmForward} (bit for bit on the WASM kernels), but nothing is
   * kept for a backward pass, so it needs no gates/c/hPrev buffers (the
   * implementation works in a fixed workspace). May run sequences concurrently.
   */
  lstmInfer(seqs: readonly LstmInferSequence[]): void;

  /**
   * Int16 copies of one LSTM direction's weights for {@link lstmInferQuantized}
   * (inference only): W_ih and W_hh with one scale per output column, the bias
   * kept in f32. A snapshot: later changes to the f32 weights are not seen.
   * Free with {@link freeQuantizedLstm}.
   */
  quantizeLstm(inDim: number, hidden: number, wIh: Float32Array, wHh: Float32Array, b: Float32Array): QuantizedLstm;
  /** Releases the memory of {@link quantizeLstm}'s result; using it afterwards is an error. */
  freeQuantizedLstm(q: QuantizedLstm): void;
  /**
   * {@link lstmInfer} on quantized weights: each chunk's inputs and each
   * step's h_{t−1} are quantized per row to 12-bit integers, multiplied
   * with the int16 weights in exact int32 sums, and scaled back; the cell is
   * computed in f32. h differs from the fp32 result by the quantization
   * error (about 1e-3 relative). May run sequences concurrently.
   */
  lstmInferQuantized(seqs: readonly LstmQuantSequence[]): void;

  /**
   * Backpropagation through time for sequences run by {@link lstmForward}
   * (same buffers, untouched since). May run them concurrently too.
   */
  lstmBackward(seqs: readonly LstmSequenceGrad[]): void;

  /**
   * Row-wise log-softmax with masked negative log-likelihood.
   * `logits` is rows×cols; `labels[r]` is a class id or -1 (ignored).
   * Writes log-probabilities to `logp`. When `dlogits` is given, writes the
   * gradient of the *mean* NLL over non-ignored rows, (softmax − onehot)/count,
   * and zeros on ignored rows. Returns the summed NLL and the count of rows used.
   */
  logSoftmaxNll(rows: number, cols: number, logits: Float32Array, labels: Int32Array,
    logp: Float32Array, dlogits: Float32Array | null): { loss: number; count: number };

  /**
   * Adam update for n parameters (Kingma & Ba), bias corrections folded into
   * `lrT = lr·sqrt(1−β2^t)/(1−β1^t)` and `epsT = eps·sqrt(1−β2^t)` by the caller:
   * m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²;  p −= lrT·m / (sqrt(v) + epsT).
   */
  adam(n: number, param: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array,
    lrT: number, beta1: number, beta2: number, epsT: number): void;
}

/**
 * One LSTM direction over a *packed sequence* (PyTorch's PackedSequence):
 * sentences sorted longest first; step t has `batchSizes[t]` rows (the
 * sentences still running, non-increasing, each ≥ 1), and the steps are
 * stored one after another, N = Σ batchSizes rows in all. Padding is never
 * computed. Starts from h₋₁ = c₋₁ = 0. All matrices are row-major.
 */
export interface LstmInferSequence {
  inDim: number;
  hidden: number;
  /** Rows of each step; its length is the number of steps. */
  batchSizes: Int32Array;
  /** Input, N×inDim (read). */
  x: Float32Array;
  /** Input weights inDim×4H, recurrent weights H×4H, bias 4H (read). */
  wIh: Float32Array;
  wHh: Float32Array;
  b: Float32Array;
  /** Out: h_t for every row, N×H. */
  h: Float32Array;
}

/** LSTM weights quantized by one kernels object's {@link Kernels.quantizeLstm} (opaque otherwise). */
export interface QuantizedLstm {
  readonly inDim: number;
  readonly hidden: number;
  /** Which kernels made it ("reference", "wasm-simd", …): only they can run it. */
  readonly kernels: string;
}

/**
 * One direction for {@link Kernels.lstmInferQuantized}: a packed sequence (as in {@link LstmInferSequence}) over
 * quantized weights.
 */
export interface LstmQuantSequence {
  batchSizes: Int32Array;
  /** Input, N×inDim (read). */
  x: Float32Array;
  weights: QuantizedLstm;
  /** Out: h_t for every row, N×H. */
  h: Float32Array;
}

/** {@link LstmInferSequence} plus what a training forward keeps for {@link Kernels.lstmBackward}. */
export interface LstmSequence extends LstmInferSequence {
  /** Out: gate activations (σi, σf, tanh g, σo), N×4H. */
  gates: Float32Array;
  /** Out: (batchSizes[0] + N)×H — a zero block (c₋₁), then c_t for every row. */
  c: Float32Array;
  /** Out: N×H, row (t, i) = h_{t−1, i} (zeros at t = 0): the recurrent input, kept for the weight gradient. */
  hPrev: Float32Array;
}

/** What {@link Kernels.lstmBackward} needs beyond the forward's {@link LstmSequence}. */
export interface LstmSequenceGrad extends LstmSequence {
  /** In: dL/dh_t from above, N×H. Used as the running gradient: clobbered. */
  dh: Float32Array;
  /** Workspace, batchSizes[0]×H. */
  dc: Float32Array;
  /** Out: dL/d(gate pre-activations), N×4H. */
  dGates: Float32Array;
  /** Out (overwritten): dL/dx, N×inDim; null to skip it (frozen input). */
  dx: Float32Array | null;
  /** Accumulated: gradients of wIh, wHh, b. */
  gWih: Float32Array;
  gWhh: Float32Array;
  gB: Float32Array;
}
