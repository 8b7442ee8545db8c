import { LstmNerError } from "../util/errors.js";
import type { WasmMemory } from "./wasm-types.js";

const PAGE = 65536;
/** Grow memory by at least this much at a time, so growth is rare. */
const MIN_GROW_BYTES = 16 << 20;
/** wasm32 limit: 65536 pages. */
const MAX_PAGES = 65536;

/**
 * Size class of a request: exact multiples of 16 up to 256 bytes, then four
 * classes per power of two (≤ 25 % slack), so that buffers whose size varies a
 * little from batch to batch (sentence lengths) still share free lists.
 */
export function sizeClass(bytes: number): number {
  const b = Math.max(16, (bytes + 15) & ~15);
  if (b <= 256) return b;
  const top = 2 ** Math.floor(Math.log2(b)); // ≥ 256, so quarters are multiples of 16
  for (let q = 1; q <= 4; q++) {
    const c = top + (q * top) / 4;
    if (c >= b) return b === top ? top : c;
  }
  return 2 * top;
}

/**
 * Hands out 16-byte-aligned blocks of a WebAssembly memory above the module's
 * static data, with per-size-class free lists. A growable (shared) memory is
 * grown in big steps; a fixed (non-shared) memory cannot grow, because growing
 * would detach every view the layers hold, so running out is an error.
 */
export class WasmAllocator {
  private top: number;
  private readonly freeLists = new Map<number, number[]>();
  /** Live blocks: byte offset → class size. */
  private readonly live = new Map<number, number>();
  /** Every ArrayBuffer/SharedArrayBuffer object this memory has exposed. */
  private readonly buffers = new WeakSet<ArrayBufferLike>();
  private lastBuffer: ArrayBufferLike;

  /**
   * @param memory the module's memory.
   * @param heapBase first free byte (the module's `__heap_base`).
   * @param growable whether `memory.grow` is allowed (only for shared memory, where it never detaches views).
   */
  constructor(readonly memory: WasmMemory, heapBase: number, readonly growable: boolean) {
    this.top = (heapBase + 15) & ~15;
    this.lastBuffer = memory.buffer;
    this.buffers.add(this.lastBuffer);
  }

  /** Bytes handed out so far (high-water mark of the bump pointer). */
  get used(): number {
    return this.top;
  }

  /** Current memory size in bytes. */
  get size(): number {
    return this.currentBuffer().byteLength;
  }

  /** True if `buf` is a view of this memory (from before or after any growth). */
  owns(buf: ArrayBufferView): boolean {
    if (this.buffers.has(buf.buffer)) return true;
    this.currentBuffer(); // another thread may have grown a shared memory
    return this.buffers.has(buf.buffer);
  }

  /** Allocates a zero-filled block of at least `bytes` bytes; returns its byte offset (16-aligned). */
  allocBytes(bytes: number): number {
    const cls = sizeClass(bytes);
    const list = this.freeLists.get(cls);
    const reused = list?.pop();
    if (reused !== undefined) {
      new Uint8Array(this.currentBuffer(), reused, cls).fill(0);
      this.live.set(reused, cls);
      return reused;
    }
    const off = this.top;
    const end = off + cls;
    if (end > this.currentBuffer().byteLength) this.grow(end);
    this.top = end;
    this.live.set(off, cls);
    return off; // never handed out before: still zero since the memory was created or grown
  }

  /** Returns the block at byte offset `off` to its free list. */
  freeBytes(off: number): void {
    const cls = this.live.get(off);
    if (cls === undefined) {
      throw new LstmNerError("free: buffer was not allocated by these WASM kernels, or was already freed");
    }
    this.live.delete(off);
    let list = this.freeLists.get(cls);
    if (list === undefined) this.freeLists.set(cls, (list = []));
    list.push(off);
  }

  /** A zero-filled Float32Array of n elements in this memory. */
  float32(n: number): Float32Array {
    checkCount(n);
    const off = this.allocBytes(n * 4); // may grow: take the buffer after
    return new Float32Array(this.currentBuffer(), off, n);
  }

  /** A zero-filled Int32Array of n elements in this memory. */
  int32(n: number): Int32Array {
    checkCount(n);
    const off = this.allocBytes(n * 4);
    return new Int32Array(this.currentBuffer(), off, n);
  }

  /** Frees a view returned by float32/int32. */
  free(buf: Float32Array | Int32Array): void {
    if (!this.owns(buf)) {
      throw new LstmNerError("free: buffer was not allocated by these WASM kernels");
    }
    this.freeBytes(buf.byteOffset);
  }

  /** memory.buffer, remembering each new object it returns after growth. */
  private currentBuffer(): ArrayBufferLike {
    const b = this.memory.buffer;
    if (b !== this.lastBuffer) {
      this.lastBuffer = b;
      this.buffers.add(b);
    }
    return b;
  }

  private grow(needEnd: number): void {
    const have = this.currentBuffer().byteLength;
    if (!this.growable) {
      throw new LstmNerError(
        `WASM kernel memory is full (${mib(have)} MiB, ${mib(needEnd - this.top)} MiB more requested) and cannot grow: ` +
        "without SharedArrayBuffer (cross-origin isolation) growing would invalidate live buffers. " +
        "Pass a larger initialMiB to loadWasmKernels, or serve the page cross-origin isolated.",
      );
    }
    const want = Math.max(needEnd - have, MIN_GROW_BYTES, have >>> 1);
    const pages = Math.min(Math.ceil(want / PAGE), MAX_PAGES - have / PAGE);
    if (have + pages * PAGE < needEnd) {
      throw new LstmNerError(`WASM kernel memory cannot grow beyond 4 GiB (${mib(needEnd)} MiB requested)`);
    }
    try {
      this.memory.grow(pages);
    } catch (e) {
      throw new LstmNerError(`WASM kernel memory could not grow to ${mib(have + pages * PAGE)} MiB`, { cause: e });
    }
    this.currentBuffer();
  }
}

function checkCount(n: number): void {
  if (!Number.isInteger(n) || n < 0) throw new LstmNerError(`alloc: element count must be a non-negative integer, got ${n}`);
}

function mib(bytes: number): string {
  return (bytes / 1048576).toFixed(1);
}
