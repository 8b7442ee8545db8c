// Fused LSTM cell forward/backward (gate activations, cell update, output) over a batch of rows.

import { sigmoid4, tanh4, sigmoid1, tanh1 } from "./mathx4";

/** Fused LSTM step: activations in place, c = σf⊙cPrev + σi⊙tanh g, h[r*hStride+j] = σo⊙tanh c. */
export function lstmCellForward(batch: i32, hidden: i32, gates: usize, cPrev: usize, c: usize, h: usize, hStride: i32): void {
  cellRows(true, batch, hidden, gates, cPrev, c, h, hStride);
}

/**
 * Inference-only LSTM step: like lstmCellForward but the activations are not
 * stored back (nothing is kept for a backward pass). c may alias cPrev (each
 * element is read before it is written), so one B×H block serves every step.
 */
export function lstmCellInfer(batch: i32, hidden: i32, gates: usize, cPrev: usize, c: usize, h: usize): void {
  cellRows(false, batch, hidden, gates, cPrev, c, h, hidden);
}

/** The step both share; `keep` (a constant at each call, so the stores compile away) writes the activations over the gates. */
// @ts-ignore: decorator
@inline function cellRows(keep: bool, batch: i32, hidden: i32, gates: usize, cPrev: usize, c: usize, h: usize, hStride: i32): void {
  const H = <usize>hidden << 2;
  for (let r = 0; r < batch; r++) {
    const gi = gates + <usize>r * 4 * H, gf = gi + H, gg = gf + H, go = gg + H;
    const cp = cPrev + <usize>r * H, cr = c + <usize>r * H, hr = h + (<usize>r * hStride << 2);
    let j = 0;
    for (; j + 3 < hidden; j += 4) {
      const o = <usize>j << 2;
      const i = sigmoid4(v128.load(gi + o)), f = sigmoid4(v128.load(gf + o));
      const g = tanh4(v128.load(gg + o)), og = sigmoid4(v128.load(go + o));
      if (keep) { v128.store(gi + o, i); v128.store(gf + o, f); v128.store(gg + o, g); v128.store(go + o, og); }
      const ct = f32x4.add(f32x4.mul(f, v128.load(cp + o)), f32x4.mul(i, g));
      v128.store(cr + o, ct);
      v128.store(hr + o, f32x4.mul(og, tanh4(ct)));
    }
    for (; j < hidden; j++) {
      const o = <usize>j << 2;
      const i = sigmoid1(load<f32>(gi + o)), f = sigmoid1(load<f32>(gf + o));
      const g = tanh1(load<f32>(gg + o)), og = sigmoid1(load<f32>(go + o));
      if (keep) { store<f32>(gi + o, i); store<f32>(gf + o, f); store<f32>(gg + o, g); store<f32>(go + o, og); }
      const ct = f * load<f32>(cp + o) + i * g;
      store<f32>(cr + o, ct);
      store<f32>(hr + o, og * tanh1(ct));
    }
  }
}

/** Backward of lstmCellForward: dGates from the stored activations; dc becomes the gradient w.r.t. cPrev. */
export function lstmCellBackward(batch: i32, hidden: i32, gates: usize, cPrev: usize, c: usize,
  dh: usize, dhStride: i32, dc: usize, dGates: usize): void {
  const H = <usize>hidden << 2;
  const one = f32x4.splat(1);
  for (let r = 0; r < batch; r++) {
    const gi = gates + <usize>r * 4 * H, gf = gi + H, gg = gf + H, go = gg + H;
    const di = dGates + <usize>r * 4 * H, df = di + H, dg = df + H, dO = dg + H;
    const cp = cPrev + <usize>r * H, cr = c + <usize>r * H, dcr = dc + <usize>r * H, dhr = dh + (<usize>r * dhStride << 2);
    let j = 0;
    for (; j + 3 < hidden; j += 4) {
      const o = <usize>j << 2;
      const i = v128.load(gi + o), f = v128.load(gf + o), g = v128.load(gg + o), og = v128.load(go + o);
      const tc = tanh4(v128.load(cr + o));
      const dhv = v128.load(dhr + o);
      const dct = f32x4.add(f32x4.mul(f32x4.mul(dhv, og), f32x4.sub(one, f32x4.mul(tc, tc))), v128.load(dcr + o));
      v128.store(di + o, f32x4.mul(f32x4.mul(dct, g), f32x4.mul(i, f32x4.sub(one, i))));
      v128.store(df + o, f32x4.mul(f32x4.mul(dct, v128.load(cp + o)), f32x4.mul(f, f32x4.sub(one, f))));
      v128.store(dg + o, f32x4.mul(f32x4.mul(dct, i), f32x4.sub(one, f32x4.mul(g, g))));
      v128.store(dO + o, f32x4.mul(f32x4.mul(dhv, tc), f32x4.mul(og, f32x4.sub(one, og))));
      v128.store(dcr + o, f32x4.mul(dct, f));
    }
    for (; j < hidden; j++) {
      const o = <usize>j << 2;
      const i = load<f32>(gi + o), f = load<f32>(gf + o), g = load<f32>(gg + o), og = load<f32>(go + o);
      const tc = tanh1(load<f32>(cr + o));
      const dhv = load<f32>(dhr + o);
      const dct = dhv * og * (1 - tc * tc) + load<f32>(dcr + o);
      store<f32>(di + o, dct * g * (i * (1 - i)));
      store<f32>(df + o, dct * load<f32>(cp + o) * (f * (1 - f)));
      store<f32>(dg + o, dct * i * (1 - g * g));
      store<f32>(dO + o, dhv * tc * (og * (1 - og)));
      store<f32>(dcr + o, dct * f);
    }
  }
}
