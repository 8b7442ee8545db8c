// Row-broadcast ops shared by the kernel exports and the sequence kernels.

/** x[r, :] += bias for each of the `rows` rows of the rows×cols matrix x. */
export function addBias(rows: i32, cols: i32, x: usize, bias: usize): void {
  for (let r = 0; r < rows; r++) {
    const xr = x + (<usize>r * cols << 2);
    let j = 0;
    for (; j + 3 < cols; j += 4) { const o = <usize>j << 2; v128.store(xr + o, f32x4.add(v128.load(xr + o), v128.load(bias + o))); }
    for (; j < cols; j++) { const o = <usize>j << 2; store<f32>(xr + o, load<f32>(xr + o) + load<f32>(bias + o)); }
  }
}

/** out[j] = beta·out[j] + Σ_r x[r, j]  (beta 0 or 1). */
export function sumRows(rows: i32, cols: i32, x: usize, out: usize, beta: i32): void {
  let j = 0;
  for (; j + 15 < cols; j += 16) {
    const o = <usize>j << 2;
    let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
    let p = x + o;
    const ld = <usize>cols << 2;
    for (let r = 0; r < rows; r++) {
      s0 = f32x4.add(s0, v128.load(p)); s1 = f32x4.add(s1, v128.load(p, 16));
      s2 = f32x4.add(s2, v128.load(p, 32)); s3 = f32x4.add(s3, v128.load(p, 48));
      p += ld;
    }
    if (beta != 0) {
      s0 = f32x4.add(s0, v128.load(out + o)); s1 = f32x4.add(s1, v128.load(out + o, 16));
      s2 = f32x4.add(s2, v128.load(out + o, 32)); s3 = f32x4.add(s3, v128.load(out + o, 48));
    }
    v128.store(out + o, s0); v128.store(out + o, s1, 16); v128.store(out + o, s2, 32); v128.store(out + o, s3, 48);
  }
  for (; j < cols; j++) {
    let s: f32 = 0;
    for (let r = 0; r < rows; r++) s += load<f32>(x + ((<usize>r * cols + j) << 2));
    const o = out + (<usize>j << 2);
    store<f32>(o, beta != 0 ? load<f32>(o) + s : s);
  }
}
