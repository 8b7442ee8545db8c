import type { Kernels } from "../engine/kernels.js";
import type { Param } from "./param.js";
import { LstmNerError } from "../util/errors.js";

/**
 * A reusable kernel buffer that keeps its capacity across batches: `get(n)`
 * returns a view of exactly `n` values, allocating (and freeing the old
 * buffer) only when a batch needs more than ever before. Contents are kept
 * between calls unless the buffer grows, in which case they are zeros.
 */
class GrowingBuffer<T extends Float32Array | Int32Array> {
  private data: T | null = null;

  constructor(private readonly k: Kernels, private readonly alloc: (n: number) => T) {}

  /** A view of `n` values from a buffer of capacity ≥ n. */
  get(n: number): T {
    if (this.data === null || this.data.length < n) {
      const old = this.data?.length ?? 0;
      if (this.data !== null) this.k.free(this.data);
      // Grow with some slack so slowly rising batch shapes do not reallocate each time.
      this.data = this.alloc(Math.max(n, Math.ceil(old * 1.5), 1));
    }
    return this.data.subarray(0, n) as T;
  }

  /** Give the memory back to the kernels; a later `get` allocates afresh. */
  release(): void {
    if (this.data !== null) this.k.free(this.data);
    this.data = null;
  }
}

/** A {@link GrowingBuffer} of floats (activations, gradients). */
export class KernelBuffer extends GrowingBuffer<Float32Array> {
  constructor(k: Kernels) {
    super(k, (n) => k.alloc(n));
  }
}

/** A {@link GrowingBuffer} of ints (e.g. labels handed to a kernel). */
export class KernelInt32Buffer extends GrowingBuffer<Int32Array> {
  constructor(k: Kernels) {
    super(k, (n) => k.allocInt32(n));
  }
}

/**
 * One {@link KernelBuffer} per name: the activation and gradient buffers a
 * layer keeps across batches, made in one place instead of a field each.
 */
export function kernelBuffers<N extends string>(k: Kernels, names: readonly N[]): Record<N, KernelBuffer> {
  return Object.fromEntries(names.map((n) => [n, new KernelBuffer(k)])) as Record<N, KernelBuffer>;
}

/** A zero-initialised parameter whose value and gradient live in kernel memory. */
export function kernelParam(k: Kernels, name: string, shape: number[]): Param {
  const n = shape.reduce((a, b) => a * b, 1);
  return { name, shape, value: k.alloc(n), grad: k.alloc(n) };
}

/** Free a parameter made by {@link kernelParam}. */
export function freeParam(k: Kernels, p: Param): void {
  k.free(p.value);
  k.free(p.grad);
}

/** Throw unless `buf` holds at least `n` values; returns the view of exactly `n`. */
export function exactly<T extends Float32Array | Int32Array>(buf: T, n: number, what: string): T {
  if (buf.length < n) throw new LstmNerError(`${what}: expected at least ${n} values, got ${buf.length}`);
  return (buf.length === n ? buf : buf.subarray(0, n)) as T;
}
