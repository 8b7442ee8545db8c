/**
 * A number parser over raw bytes, so that reading 34 million GloVe values does
 * not create a string per value.
 *
 * Fast path (Clinger): at most 15 significant digits and a decimal exponent
 * within ±22 means the mantissa and the power of ten are both exact doubles,
 * so one multiplication or division gives the correctly rounded double — the
 * same value `parseFloat` returns. Anything else falls back to `parseFloat`.
 */

const POW10 = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];
const MAX_FAST_DIGITS = 15;
const NUMBER_SYNTAX = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Index just past the last number read by {@link parseNumber}; a module-level
 * cursor instead of a returned tuple keeps the hot loop allocation-free.
 */
export let numberEnd = 0;

/**
 * Parse a decimal number (`-0.38194`, `1e-05`, `+3.`) starting at `pos`,
 * stopping at the first byte that cannot continue it or at `end`. Returns NaN
 * when no number starts at `pos`; sets {@link numberEnd}. The caller checks
 * that the byte at `numberEnd` is a separator.
 */
export function parseNumber(buf: Uint8Array, pos: number, end: number): number {
  let i = pos;
  let neg = false;
  let c = i < end ? buf[i]! : 0;
  if (c === 45 /* - */ || c === 43 /* + */) {
    neg = c === 45;
    i++;
  }
  let mant = 0;
  let sig = 0;
  let exp10 = 0;
  let anyDigit = false;
  for (; i < end; i++) {
    const d = buf[i]! - 48;
    if (d < 0 || d > 9) break;
    anyDigit = true;
    if (mant !== 0 || d !== 0) {
      if (++sig > MAX_FAST_DIGITS) { exp10++; continue; }
      mant = mant * 10 + d;
    }
  }
  if (i < end && buf[i] === 46 /* . */) {
    for (i++; i < end; i++) {
      const d = buf[i]! - 48;
      if (d < 0 || d > 9) break;
      anyDigit = true;
      if (mant !== 0 || d !== 0) {
        if (++sig > MAX_FAST_DIGITS) continue;
        mant = mant * 10 + d;
      }
      exp10--;
    }
  }
  if (!anyDigit) {
    numberEnd = pos;
    return NaN;
  }
  c = i < end ? buf[i]! : 0;
  if (c === 101 /* e */ || c === 69 /* E */) {
    let j = i + 1;
    let eneg = false;
    const s = j < end ? buf[j]! : 0;
    if (s === 45 || s === 43) {
      eneg = s === 45;
      j++;
    }
    let e = 0;
    const digitsStart = j;
    for (; j < end; j++) {
      const d = buf[j]! - 48;
      if (d < 0 || d > 9) break;
      if (e < 100000) e = e * 10 + d;
    }
    // "1e" or "1e+" is not a number: leave the `e` for the caller to reject.
    if (j > digitsStart) {
      exp10 += eneg ? -e : e;
      i = j;
    }
  }
  numberEnd = i;
  if (sig > MAX_FAST_DIGITS || exp10 > 22 || exp10 < -22) return slowParse(buf, pos, i);
  const v = exp10 < 0 ? mant / POW10[-exp10]! : mant * POW10[exp10]!;
  return neg ? -v : v;
}

function slowParse(buf: Uint8Array, start: number, end: number): number {
  let s = "";
  for (let k = start; k < end; k++) s += String.fromCharCode(buf[k]!);
  return NUMBER_SYNTAX.test(s) ? parseFloat(s) : NaN;
}
