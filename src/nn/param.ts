/** A trainable tensor: its values, its gradient (same length) and its shape. */
export interface Param {
  name: string;
  shape: number[];
  value: Float32Array;
  grad: Float32Array;
}
