/**
 * The pickle inside a PyTorch `torch.save(model.state_dict(), path)` file,
 * read without running anything: a small stack machine that knows only the
 * opcodes such a pickle uses and only the callables it names
 * (`collections.OrderedDict`, `torch._utils._rebuild_tensor_v2` and the
 * storage types). Any other opcode or name is refused in one line, so a file
 * that would run code when Python unpickles it (`os.system`, …) is never
 * more than an error here. The tensors' bytes live beside the pickle in the
 * zip (`<archive>/data/<key>`); this module says where, the caller reads them.
 */
import { LstmNerError } from "../util/errors.js";

/** Element types of the storages a state dict may hold, and their byte widths. */
const STORAGES: Record<string, { dtype: TorchDType; bytes: number }> = {
  FloatStorage: { dtype: "float32", bytes: 4 },
  DoubleStorage: { dtype: "float64", bytes: 8 },
  HalfStorage: { dtype: "float16", bytes: 2 },
  BFloat16Storage: { dtype: "bfloat16", bytes: 2 },
  LongStorage: { dtype: "int64", bytes: 8 },
  IntStorage: { dtype: "int32", bytes: 4 },
  ByteStorage: { dtype: "uint8", bytes: 1 },
  BoolStorage: { dtype: "bool", bytes: 1 },
};

export type TorchDType = "float32" | "float64" | "float16" | "bfloat16" | "int64" | "int32" | "uint8" | "bool";

/** One tensor of the state dict: where its values are and how they are laid out. */
export interface TorchTensorRef {
  /** The storage's key: its bytes are the zip entry `<archive>/data/<key>`. */
  storage: string;
  dtype: TorchDType;
  /** Bytes per element. */
  itemBytes: number;
  /** Elements in the whole storage (several tensors may share one). */
  storageSize: number;
  /** Offset into the storage, in elements. */
  offset: number;
  shape: number[];
  /** In elements. */
  stride: number[];
}

// Values on the machine's stack. Only what a state dict of tensors needs.
class Mark {}
class Global {
  constructor(readonly name: string) {}
}
interface StorageRef {
  kind: "storage";
  key: string;
  type: { dtype: TorchDType; bytes: number };
  size: number;
}
type Value = null | boolean | number | string | Value[] | Map<string, Value> | Global | StorageRef | TorchTensorRef | Mark;

const ALLOWED = new Set(["collections OrderedDict", "torch._utils _rebuild_tensor_v2", ...Object.keys(STORAGES).map((s) => `torch ${s}`)]);

/**
 * The state dict a PyTorch pickle describes: parameter name → tensor reference, in file order.
 * @throws LstmNerError naming `file` for an opcode or a global a state dict of tensors does not use, or a
 * pickle that is not a dict of tensors.
 */
export function parseTorchPickle(bytes: Uint8Array, file: string): Map<string, TorchTensorRef> {
  const fail = (why: string): LstmNerError => new LstmNerError(`not a PyTorch state dict of tensors (${why}); nothing in the file was run`, { file });
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = new TextDecoder("utf-8", { fatal: true });
  const stack: Value[] = [];
  const memo = new Map<number, Value>();
  let pos = 0;
  const need = (n: number): number => {
    if (pos + n > bytes.length) throw fail("the pickle ends early");
    const at = pos;
    pos += n;
    return at;
  };
  const u8 = (): number => bytes[need(1)]!;
  const u32 = (): number => view.getUint32(need(4), true);
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) throw fail("the pickle ends early");
    const s = text.decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const str = (n: number): string => text.decode(bytes.subarray(need(n), pos));
  const pop = (): Value => {
    if (stack.length === 0 || stack[stack.length - 1] instanceof Mark) throw fail("stack underflow");
    return stack.pop()!;
  };
  const popMark = (): Value[] => {
    let i = stack.length - 1;
    while (i >= 0 && !(stack[i] instanceof Mark)) i--;
    if (i < 0) throw fail("no mark on the stack");
    const items = stack.slice(i + 1);
    stack.length = i;
    return items;
  };
  const dictOnTop = (items: Value[]): void => {
    const d = stack[stack.length - 1];
    if (!(d instanceof Map)) throw fail("SETITEM(S) on something that is not a dict");
    if (items.length % 2 !== 0) throw fail("odd number of items for a dict");
    for (let i = 0; i < items.length; i += 2) {
      const k = items[i]!;
      if (typeof k !== "string") throw fail(`a dict key that is not a string (${describe(k)})`);
      d.set(k, items[i + 1]!);
    }
  };
  const int = (v: Value, what: string): number => {
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) throw fail(`${what} must be a non-negative integer, got ${describe(v)}`);
    return v;
  };
  const ints = (v: Value, what: string): number[] => {
    if (!Array.isArray(v)) throw fail(`${what} must be a tuple, got ${describe(v)}`);
    return v.map((x) => int(x, what));
  };
  const reduce = (fn: Value, args: Value): Value => {
    if (!(fn instanceof Global) || !Array.isArray(args)) throw fail("REDUCE of something that is not an allowed callable");
    if (fn.name === "collections OrderedDict") {
      if (args.length !== 0) throw fail("OrderedDict with arguments");
      return new Map();
    }
    if (fn.name === "torch._utils _rebuild_tensor_v2") {
      // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
      const [storage, offset, size, stride] = args;
      if (args.length < 6 || typeof storage !== "object" || storage === null || !("kind" in storage) || storage.kind !== "storage") {
        throw fail("_rebuild_tensor_v2 without a storage");
      }
      const shape = ints(size!, "a tensor's size");
      const strides = ints(stride!, "a tensor's stride");
      if (shape.length !== strides.length) throw fail("a tensor's size and stride differ in length");
      const off = int(offset!, "a tensor's storage offset");
      const last = shape.reduce((m, n, i) => (n === 0 ? -Infinity : m + (n - 1) * strides[i]!), off);
      if (last >= storage.size) throw fail(`a tensor reaches beyond its storage ${storage.key}`);
      return { storage: storage.key, dtype: storage.type.dtype, itemBytes: storage.type.bytes, storageSize: storage.size, offset: off, shape, stride: strides };
    }
    throw fail(`REDUCE of ${fn.name}`);
  };

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) throw fail("pickle protocol above 5");
        break;
      case 0x95: // FRAME
        need(8);
        break;
      case 0x2e: { // STOP
        const top = pop();
        if (!(top instanceof Map)) throw fail(`the pickle holds ${describe(top)}, not a dict`);
        const out = new Map<string, TorchTensorRef>();
        for (const [k, v] of top) {
          if (typeof v !== "object" || v === null || !("stride" in v)) throw fail(`entry ${JSON.stringify(k)} is ${describe(v)}, not a tensor`);
          out.set(k, v);
        }
        return out;
      }
      case 0x28: stack.push(new Mark()); break; // MARK
      case 0x29: stack.push([]); break; // EMPTY_TUPLE
      case 0x74: stack.push(popMark()); break; // TUPLE
      case 0x85: stack.push([pop()]); break; // TUPLE1
      case 0x86: { const b = pop(); stack.push([pop(), b]); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); stack.push([pop(), b, c]); break; } // TUPLE3
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x73: { const v = pop(); const k = pop(); dictOnTop([k, v]); break; } // SETITEM
      case 0x75: dictOnTop(popMark()); break; // SETITEMS
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(view.getUint16(need(2), true)); break; // BININT2
      case 0x4a: stack.push(view.getInt32(need(4), true)); break; // BININT
      case 0x8a: { // LONG1
        const n = u8();
        if (n > 7) throw fail("an integer too large");
        const at = need(n);
        let v = 0;
        for (let i = n - 1; i >= 0; i--) v = v * 256 + bytes[at + i]!;
        if (n > 0 && bytes[at + n - 1]! & 0x80) v -= 2 ** (8 * n); // two's complement
        stack.push(v);
        break;
      }
      case 0x58: stack.push(str(u32())); break; // BINUNICODE
      case 0x8c: stack.push(str(u8())); break; // SHORT_BINUNICODE
      case 0x71: memo.set(u8(), stack[stack.length - 1]!); break; // BINPUT
      case 0x72: memo.set(u32(), stack[stack.length - 1]!); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, stack[stack.length - 1]!); break; // MEMOIZE
      case 0x68: case 0x6a: { // BINGET, LONG_BINGET
        const k = op === 0x68 ? u8() : u32();
        if (!memo.has(k)) throw fail(`memo ${k} was never stored`);
        stack.push(memo.get(k)!);
        break;
      }
      case 0x63: { // GLOBAL "module\nname\n"
        const name = `${line()} ${line()}`;
        if (!ALLOWED.has(name)) throw fail(`it asks for ${name.replace(" ", ".")}, which a state dict of tensors does not need`);
        stack.push(new Global(name));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const n = pop();
        const m = pop();
        const name = `${String(m)} ${String(n)}`;
        if (typeof m !== "string" || typeof n !== "string" || !ALLOWED.has(name)) throw fail(`it asks for ${name.replace(" ", ".")}, which a state dict of tensors does not need`);
        stack.push(new Global(name));
        break;
      }
      case 0x51: { // BINPERSID: ("storage", StorageType, key, location, size)
        const id = pop();
        if (!Array.isArray(id) || id.length !== 5 || id[0] !== "storage" || !(id[1] instanceof Global) || typeof id[2] !== "string") {
          throw fail(`a persistent id that is not a storage (${describe(id)})`);
        }
        const type = STORAGES[id[1].name.slice("torch ".length)]!;
        stack.push({ kind: "storage", key: id[2], type, size: int(id[4]!, "a storage's size") });
        break;
      }
      case 0x52: { const args = pop(); stack.push(reduce(pop(), args)); break; } // REDUCE
      case 0x62: { // BUILD: state on an OrderedDict (its _metadata attribute) is dropped
        pop();
        if (!(stack[stack.length - 1] instanceof Map)) throw fail("BUILD on something that is not a dict");
        break;
      }
      default:
        throw fail(`pickle opcode 0x${op.toString(16).padStart(2, "0")} at byte ${pos - 1}`);
    }
  }
}

function describe(v: Value): string {
  if (v === null) return "None";
  if (v instanceof Map) return "a dict";
  if (v instanceof Global) return v.name.replace(" ", ".");
  if (Array.isArray(v)) return "a tuple";
  if (typeof v === "object") return "kind" in v ? "a storage" : "stride" in v ? "a tensor" : "a mark";
  return JSON.stringify(v);
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Half-float bits → number. */
function half(h: number): number {
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  const s = h & 0x8000 ? -1 : 1;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/**
 * A tensor's values as float32 in row-major order, from its storage's bytes (little-endian, as PyTorch writes
 * on every platform it runs on). Floating-point storages only.
 */
export function tensorValues(ref: TorchTensorRef, storage: Uint8Array, name: string, file: string): Float32Array {
  if (storage.length !== ref.storageSize * ref.itemBytes) {
    throw new LstmNerError(`tensor ${name}: its storage holds ${storage.length} bytes, expected ${ref.storageSize * ref.itemBytes}`, { file });
  }
  const view = new DataView(storage.buffer, storage.byteOffset, storage.byteLength);
  const read: ((i: number) => number) | undefined = {
    float32: (i: number) => view.getFloat32(4 * i, true),
    float64: (i: number) => view.getFloat64(8 * i, true),
    float16: (i: number) => half(view.getUint16(2 * i, true)),
    bfloat16: (i: number) => new Float32Array(new Uint32Array([view.getUint16(2 * i, true) << 16]).buffer)[0]!,
  }[ref.dtype as "float32"];
  if (read === undefined) throw new LstmNerError(`tensor ${name} holds ${ref.dtype} values; the model's weights must be floating point`, { file });
  const n = ref.shape.reduce((a, b) => a * b, 1);
  // The common case, a contiguous float32 tensor on a little-endian machine: one copy.
  let expect = 1;
  const contiguous = ref.shape.every((_, d) => {
    const i = ref.shape.length - 1 - d;
    const ok = ref.shape[i] === 1 || ref.stride[i] === expect;
    expect *= ref.shape[i]!;
    return ok;
  });
  if (ref.dtype === "float32" && contiguous && LITTLE_ENDIAN) {
    // Uint8Array's slice copies (a Node Buffer's would share the pool's memory).
    return new Float32Array(Uint8Array.prototype.slice.call(storage, 4 * ref.offset, 4 * (ref.offset + n)).buffer);
  }
  const out = new Float32Array(n);
  const idx = new Array<number>(ref.shape.length).fill(0);
  for (let k = 0; k < n; k++) {
    let at = ref.offset;
    for (let d = 0; d < idx.length; d++) at += idx[d]! * ref.stride[d]!;
    out[k] = read(at);
    for (let d = idx.length - 1; d >= 0; d--) {
      if (++idx[d]! < ref.shape[d]!) break;
      idx[d] = 0;
    }
  }
  return out;
}
