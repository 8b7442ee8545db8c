/** A piece of text with its position: `text === source.slice(start, end)`. */
export interface TextSpan {
  text: string;
  start: number;
  end: number;
}

// Sticky patterns tried in order at the start of each token.
const URL_START = /(?:https?:\/\/|ftp:\/\/|www\.)[^\s<>"]+/iuy;
// Bounded repeats keep scanning linear on long runs such as "x.x.x.x...".
const EMAIL = /[\p{L}\p{N}._%+-]{1,64}@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)+/uy;
/** Letter-dot runs such as U.S. or e.g. */
const DOTTED = /(?:\p{L}\.){2,8}(?!\p{L})/uy;
/** An initial before a capitalised word, as in "J. Smith". */
const INITIAL = /\p{Lu}\.(?=\s+\p{Lu})/uy;
const ABBREVIATIONS = [
  "Mr", "Mrs", "Ms", "Dr", "Prof", "Sr", "Jr", "St", "Mt", "Ft", "Inc", "Ltd", "Co", "Corp", "Bros", "Gen", "Gov", "Sen", "Rep",
  "Pres", "Lt", "Col", "Capt", "Sgt", "Adm", "Rev", "Hon", "vs", "etc", "approx", "Jan", "Feb", "Mar", "Apr", "Jun", "Jul", "Aug",
  "Sep", "Sept", "Oct", "Nov", "Dec",
];
const KNOWN_ABBREVIATION = new RegExp(`(?:${ABBREVIATIONS.join("|")})\\.(?![\\p{L}\\p{N}])`, "uy");
/** Numbers with inner separators: 3.5, 1,000, 10:30, 1/2. */
const SEGMENT = String.raw`(?:\p{N}+(?:[.,:/]\p{N}+)+|[\p{L}\p{N}\p{M}]+(?:['’][\p{L}\p{N}\p{M}]+)*)`;
/** Words, numbers, and hyphenated compounds of them (1996-08-22, well-known). */
const WORD = new RegExp(`${SEGMENT}(?:-${SEGMENT})*`, "uy");
/** Punctuation kept together: ellipses, dashes, doubled quotes. */
const PUNCT_RUN = /\.{2,}|-{2,}|``|''|[!?]+|./suy;
/** One emoji, with its modifiers and zero-width-joined parts (👍🏽, 👨‍👩‍👧). */
const EMOJI = /\p{Extended_Pictographic}(?:\p{Emoji_Modifier}|\uFE0F|\u200D\p{Extended_Pictographic})*/uy;
/** Whitespace, including the invisible characters that never belong to a token. */
const SPACE = /[\s\u200B\u200C\u200D\u2060\uFEFF]+/uy;
const NEGATION = /^(.+)(n['’]t)$/iu;
/** PTB splits "cannot" into "can not". */
const CANNOT = /^(can)(not)$/iu;
const CLITIC = /^(.+)(['’](?:s|re|ve|ll|d|m))$/iu;

/**
 * Split text into PTB/CoNLL-style tokens with offsets into `text`:
 * punctuation is split off words, clitics are split (`don't` → `do n't`,
 * `John's` → `John 's`), while numbers (`3.5`, `1,000`), hyphenated words,
 * dotted abbreviations (`U.S.`, `Mr.`), URLs and e-mail addresses stay whole.
 * An emoji (with its modifiers and joined parts) is one token. Offsets are
 * JavaScript string (UTF-16) indices, so `text.slice(start, end)` is the token.
 *
 * Hand-written rather than taken from npm: the maintained tokenizers found
 * there either split hyphenated words and `U.S.` or keep sentence periods in
 * URLs (wink-tokenizer), and give no character offsets, which entity spans need.
 */
export function tokenize(text: string): TextSpan[] {
  const tokens: TextSpan[] = [];
  const push = (start: number, end: number): void => {
    tokens.push({ text: text.slice(start, end), start, end });
  };
  let pos = 0;
  while (pos < text.length) {
    SPACE.lastIndex = pos;
    if (SPACE.test(text)) {
      pos = SPACE.lastIndex;
      continue;
    }
    const url = matchAt(URL_START, text, pos);
    if (url !== undefined) {
      // Sentence punctuation and closing brackets after a URL are not part of it.
      let end = pos + url.length;
      while (end > pos + 1 && trailsUrl(text, pos, end)) end--;
      push(pos, end);
      pos = end;
      continue;
    }
    const whole = matchAt(EMAIL, text, pos) ?? matchAt(DOTTED, text, pos) ?? matchAt(KNOWN_ABBREVIATION, text, pos) ?? matchAt(INITIAL, text, pos);
    if (whole !== undefined) {
      push(pos, pos + whole.length);
      pos += whole.length;
      continue;
    }
    const word = matchAt(WORD, text, pos);
    if (word !== undefined) {
      const clitic = NEGATION.exec(word) ?? CLITIC.exec(word) ?? CANNOT.exec(word);
      if (clitic !== null) {
        const base = clitic[1]!.length;
        push(pos, pos + base);
        push(pos + base, pos + word.length);
      } else {
        push(pos, pos + word.length);
      }
      pos += word.length;
      continue;
    }
    const punct = matchAt(EMOJI, text, pos) ?? matchAt(PUNCT_RUN, text, pos)!;
    push(pos, pos + punct.length);
    pos += punct.length;
  }
  return tokens;
}

/**
 * Whether the last character of a URL candidate is sentence punctuation
 * rather than part of the URL. A closing bracket stays when the URL opened
 * it, as in https://en.wikipedia.org/wiki/Mercury_(planet).
 */
function trailsUrl(text: string, start: number, end: number): boolean {
  const last = text.charAt(end - 1);
  const pair: Record<string, string> = { ")": "(", "]": "[", "}": "{" };
  const open = pair[last];
  if (open !== undefined) {
    const inner = text.slice(start, end - 1);
    return inner.split(open).length - 1 <= inner.split(last).length - 1;
  }
  return /[.,;:!?'"”’»]/u.test(last);
}

function matchAt(re: RegExp, text: string, pos: number): string | undefined {
  re.lastIndex = pos;
  const m = re.exec(text);
  return m === null ? undefined : m[0];
}

const TERMINATOR = /^(?:[.!?]+|…)$/u;
const CLOSER = /^[)\]}"'”’»]$|^''$/u;
const OPENER = /^[\p{Lu}"“‘'(\[]/u;

/**
 * Split text into sentences, as spans of the original text (trimmed of
 * surrounding whitespace). A sentence ends at `.`, `!` or `?` (with any
 * closing quotes or brackets right after it) when whitespace and a capital
 * letter (or an opening quote) or the end of the text follow; abbreviations
 * such as `Mr.` or `U.S.` never end one. A blank line always ends one.
 */
export function splitSentences(text: string): TextSpan[] {
  return tokenizeSentences(text).map((sentence) => {
    const start = sentence[0]!.start;
    const end = sentence[sentence.length - 1]!.end;
    return { text: text.slice(start, end), start, end };
  });
}

/** {@link tokenize} grouped by sentence (see {@link splitSentences}); offsets index `text`. */
export function tokenizeSentences(text: string): TextSpan[][] {
  const tokens = tokenize(text);
  const sentences: TextSpan[][] = [];
  let current: TextSpan[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i]!;
    current.push(tok);
    const next = tokens[i + 1];
    if (next === undefined) break;
    const gap = text.slice(tok.end, next.start);
    let boundary = /\n[^\S\n]*\n/u.test(gap);
    if (!boundary && gap !== "" && OPENER.test(next.text)) {
      // Walk back over closing quotes/brackets that hug the terminator.
      let j = current.length - 1;
      while (j > 0 && CLOSER.test(current[j]!.text) && current[j - 1]!.end === current[j]!.start) j--;
      boundary = TERMINATOR.test(current[j]!.text);
    }
    if (boundary) {
      sentences.push(current);
      current = [];
    }
  }
  if (current.length > 0) sentences.push(current);
  return sentences;
}
