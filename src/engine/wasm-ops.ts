/**
 * The kernel calls that may run on the helper thread, with their arguments
 * by name. The module's exports take positional i32s (byte offsets and
 * sizes); each descriptor fixes that order once, for the main thread and the
 * worker alike, so callers build a named, typed argument object and never
 * index a positional array.
 */

/** A helper-thread call: opcode, export name, argument names in the export's order. */
export interface OpDesc {
  readonly op: number;
  readonly fn: string;
  readonly fields: readonly string[];
}

/** The named arguments of an op (every one an i32: a size or a byte offset into the shared memory). */
export type OpArgs<D extends OpDesc> = { readonly [F in D["fields"][number]]: number };

/** `lstmSeqForward`: a training forward over a packed sequence. */
export const LSTM_FORWARD = {
  op: 1,
  fn: "lstmSeqForward",
  fields: ["inDim", "hidden", "steps", "batchSizes", "x", "wIh", "wHh", "b", "gates", "c", "h", "hPrev", "work"],
} as const;

/** `lstmSeqBackward`: backpropagation through time over a packed sequence. */
export const LSTM_BACKWARD = {
  op: 2,
  fn: "lstmSeqBackward",
  fields: ["inDim", "hidden", "steps", "batchSizes", "x", "wIh", "wHh", "gates", "c", "hPrev", "dh", "dc", "dGates", "dx",
    "gWih", "gWhh", "gB", "work"],
} as const;

/** `lstmSeqInfer`: an inference-only forward (h only) over a packed sequence. */
export const LSTM_INFER = {
  op: 3,
  fn: "lstmSeqInfer",
  fields: ["inDim", "hidden", "steps", "batchSizes", "x", "wIh", "wHh", "b", "h", "work"],
} as const;

/** `lstmSeqInferQ`: the inference-only forward on int16 weights (packed by packQ). */
export const LSTM_INFER_Q = {
  op: 4,
  fn: "lstmSeqInferQ",
  fields: ["inDim", "hidden", "steps", "batchSizes", "x", "wIhQ", "sIh", "wHhQ", "sHh", "b", "h", "work"],
} as const;

/** Every op the helper serves. */
export const HELPER_OPS: readonly OpDesc[] = [LSTM_FORWARD, LSTM_BACKWARD, LSTM_INFER, LSTM_INFER_Q];

/** The arguments in the export's order. */
export function positional<D extends OpDesc>(d: D, args: OpArgs<D>): number[] {
  const named = args as Readonly<Record<string, number>>;
  return d.fields.map((f) => named[f]!);
}

/** Calls op `d`'s export of `exports` with named arguments. */
export function callOp<D extends OpDesc>(exports: object, d: D, args: OpArgs<D>): void {
  const fn = (exports as Record<string, unknown>)[d.fn];
  if (typeof fn !== "function") throw new TypeError(`the kernels module has no export ${d.fn}`);
  (fn as (...a: number[]) => void)(...positional(d, args));
}
