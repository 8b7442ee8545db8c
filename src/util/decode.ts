/**
 * Strict text decoding: bytes that are not valid UTF-8 are refused with the
 * file, line and byte offset, instead of being turned into U+FFFD and
 * silently trained or tagged on. Latin-1 (ISO-8859-1, as CoNLL-2002 files
 * use) is decoded only when asked for. Browser-safe (no Node modules).
 */
import { LstmNerError } from "./errors.js";

/** Text encodings the readers accept: strict UTF-8 (the default) or Latin-1 (ISO-8859-1, every byte one character). */
export type TextEncodingName = "utf8" | "latin1";

/** Every {@link TextEncodingName}, for option parsers. */
export const TEXT_ENCODINGS: readonly TextEncodingName[] = ["utf8", "latin1"];

/**
 * Length of the longest prefix of `bytes` made of complete, valid UTF-8
 * sequences (WHATWG rules: no overlongs, surrogates or values above
 * U+10FFFF). Equal to `bytes.length` when all of it is valid.
 */
export function validUtf8Prefix(bytes: Uint8Array): number {
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lo = 0xa0;
      else if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lo = 0x90;
      else if (b === 0xf4) hi = 0x8f;
    } else return i;
    if (i + need >= n) return i;
    const b1 = bytes[i + 1]!;
    if (b1 < lo || b1 > hi) return i;
    for (let k = 2; k <= need; k++) {
      const c = bytes[i + k]!;
      if (c < 0x80 || c > 0xbf) return i;
    }
    i += need + 1;
  }
  return i;
}

/** Where a possibly incomplete UTF-8 sequence at the end of `bytes` starts (`bytes.length` if none). */
function completeEnd(bytes: Uint8Array): number {
  const end = bytes.length;
  for (let i = end - 1; i >= 0 && i >= end - 4; i--) {
    const b = bytes[i]!;
    if ((b & 0xc0) === 0x80) continue; // continuation byte: look further back
    if (b >= 0x80 && (b < 0xc2 || b > 0xf4)) return end; // never starts a sequence: let the decoder refuse it
    const len = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return i + len > end ? i : end;
  }
  return end;
}

function countNewlines(bytes: Uint8Array, end = bytes.length): number {
  let n = 0;
  for (let i = bytes.indexOf(10); i >= 0 && i < end; i = bytes.indexOf(10, i + 1)) n++;
  return n;
}

function latin1(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 8192) s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return s;
}

function invalidUtf8(file: string, line: number, offset: number, what: string): LstmNerError {
  return new LstmNerError(`not valid UTF-8: ${what} at byte offset ${offset}; convert the file to UTF-8, or read it with encoding latin1 if it is Latin-1`, { file, line });
}

function nulByte(file: string, line: number, offset: number): LstmNerError {
  return new LstmNerError(`a NUL byte at byte offset ${offset}: this is not a text file (or it is UTF-16; convert it to UTF-8)`, { file, line });
}

const hex = (b: number): string => `0x${b.toString(16).padStart(2, "0")}`;

/**
 * Incremental strict decoder: feed byte chunks in order, get text back.
 * Sequences split across chunks are carried over; a leading UTF-8 byte-order
 * mark is dropped; a NUL byte (binary data, UTF-16) is refused.
 */
export class StrictDecoder {
  private readonly utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  private carry: Uint8Array = new Uint8Array(0);
  /** Bytes decoded so far (not counting the carry). */
  private offset = 0;
  /** Newlines in the bytes decoded so far. */
  private newlines = 0;
  private first = true;

  /** @param file name used in errors. */
  constructor(private readonly file: string, private readonly encoding: TextEncodingName = "utf8") {
    if (encoding !== "utf8" && encoding !== "latin1") throw new LstmNerError(`unknown encoding ${JSON.stringify(encoding)} (known: ${TEXT_ENCODINGS.join(", ")})`, { file: "encoding" });
  }

  /**
   * Decode the next chunk.
   * @throws LstmNerError naming the file, line and byte offset of the first invalid UTF-8 sequence or NUL byte.
   */
  push(chunk: Uint8Array): string {
    if (this.encoding === "latin1") {
      const nul = chunk.indexOf(0);
      if (nul >= 0) throw nulByte(this.file, this.newlines + countNewlines(chunk, nul) + 1, this.offset + nul);
      this.newlines += countNewlines(chunk);
      this.offset += chunk.length;
      return latin1(chunk);
    }
    let buf = chunk;
    if (this.carry.length > 0) {
      buf = new Uint8Array(this.carry.length + chunk.length);
      buf.set(this.carry, 0);
      buf.set(chunk, this.carry.length);
    }
    const cut = completeEnd(buf);
    const whole = buf.subarray(0, cut);
    this.carry = buf.slice(cut);
    let text: string;
    try {
      text = this.utf8.decode(whole);
    } catch {
      const at = validUtf8Prefix(whole);
      throw invalidUtf8(this.file, this.newlines + countNewlines(whole, at) + 1, this.offset + at, `byte ${hex(whole[at]!)}`);
    }
    // Valid UTF-8 (and Latin-1) may hold NUL bytes, but text never does: a binary file or UTF-16
    // without a BOM ("J\0o\0h\0n\0") would otherwise be tagged or trained on as garbage.
    const nul = whole.indexOf(0);
    if (nul >= 0) throw nulByte(this.file, this.newlines + countNewlines(whole, nul) + 1, this.offset + nul);
    this.newlines += countNewlines(whole);
    this.offset += cut;
    if (this.first && text.length > 0) {
      this.first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    return text;
  }

  /**
   * Check that the input did not end inside a sequence.
   * @throws LstmNerError when it did.
   */
  end(): void {
    if (this.carry.length === 0) return;
    const carry = this.carry;
    this.carry = new Uint8Array(0);
    let valid = true;
    try {
      new TextDecoder("utf-8", { fatal: true }).decode(carry, { stream: true }); // throws only if invalid, not if merely incomplete
    } catch {
      valid = false;
    }
    throw invalidUtf8(this.file, this.newlines + 1, this.offset, valid ? "the input ends inside a character" : `byte 0x${carry[0]!.toString(16)}`);
  }
}

/**
 * Decode a whole file's bytes (strict UTF-8 unless `encoding` is latin1).
 * @throws LstmNerError naming `file`, the line and the byte offset of the first invalid byte.
 */
export function decodeBytes(bytes: Uint8Array, file: string, encoding: TextEncodingName = "utf8"): string {
  const d = new StrictDecoder(file, encoding);
  const text = d.push(bytes);
  d.end();
  return text;
}

/**
 * Decode a stream of byte chunks (a file or stdin stream, a gunzip stream)
 * into text chunks, strictly. Split lines yourself: chunk boundaries fall
 * anywhere in a line (but never inside a character).
 * @throws LstmNerError naming `file`, the line and the byte offset of the first invalid byte.
 */
export async function* decodeStream(source: AsyncIterable<Uint8Array>, file: string, encoding: TextEncodingName = "utf8"): AsyncGenerator<string> {
  const d = new StrictDecoder(file, encoding);
  for await (const chunk of source) {
    const text = d.push(chunk);
    if (text !== "") yield text;
  }
  d.end();
}
