import { LstmNerError } from "../util/errors.js";

/** A trainable tensor: its values, its gradient (same length) and its shape. */
export interface Param {
  name: string;
  shape: number[];
  value: Float32Array;
  grad: Float32Array;
}

/** Copies of the parameters' values by name (a snapshot for best-epoch keeping or a model file). */
export function copyParams(params: readonly Param[]): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const p of params) out[p.name] = p.value.slice();
  return out;
}

/**
 * Load values by name into exactly these parameters.
 * @throws LstmNerError naming a missing, unexpected or wrongly sized tensor; nothing is changed then.
 */
export function loadParams(params: readonly Param[], tensors: Record<string, Float32Array>): void {
  const expected = new Set(params.map((p) => p.name));
  for (const name of Object.keys(tensors)) {
    if (!expected.has(name)) throw new LstmNerError(`tensor "${name}" is not a parameter of this model`);
  }
  for (const p of params) {
    const t = tensors[p.name];
    if (t === undefined) throw new LstmNerError(`tensor "${p.name}" is missing`);
    if (t.length !== p.value.length) {
      throw new LstmNerError(`tensor "${p.name}" has ${t.length} values, expected ${p.value.length} (shape ${p.shape.join("×")})`);
    }
  }
  for (const p of params) p.value.set(tensors[p.name]!);
}
