import { test } from "node:test";
import assert from "node:assert/strict";
import { splitSentences, tokenize, tokenizeSentences } from "../src/data/tokenize.js";

const words = (text: string): string[] => tokenize(text).map((t) => t.text);

function offsetsIndexOriginal(text: string): void {
  for (const t of tokenize(text)) assert.equal(text.slice(t.start, t.end), t.text);
  for (const s of splitSentences(text)) assert.equal(text.slice(s.start, s.end), s.text);
}

test("punctuation is split off words", () => {
  assert.deepEqual(words("Hello, world! (Really?) \"Yes\"; ok: fine."), ["Hello", ",", "world", "!", "(", "Really", "?", ")", '"', "Yes", '"', ";", "ok", ":", "fine", "."]);
  assert.deepEqual(words("Wait... no -- yes!?"), ["Wait", "...", "no", "--", "yes", "!?"]);
  assert.deepEqual(words("``quoted''"), ["``", "quoted", "''"]);
});

test("clitics split PTB-style; names with apostrophes stay whole", () => {
  assert.deepEqual(words("I don't know"), ["I", "do", "n't", "know"]);
  assert.deepEqual(words("We can't, won't"), ["We", "ca", "n't", ",", "wo", "n't"]);
  assert.deepEqual(words("John's they're I'm we've you'll she'd"), ["John", "'s", "they", "'re", "I", "'m", "we", "'ve", "you", "'ll", "she", "'d"]);
  assert.deepEqual(words("DON’T O'Neil's"), ["DO", "N’T", "O'Neil", "'s"]);
  assert.deepEqual(words("the students' books"), ["the", "students", "'", "books"]);
});

test("abbreviations, initials and numbers stay whole", () => {
  assert.deepEqual(words("Mr. Smith of the U.S. paid $3.5 million, i.e. 1,000,000 dollars."), [
    "Mr.", "Smith", "of", "the", "U.S.", "paid", "$", "3.5", "million", ",", "i.e.", "1,000,000", "dollars", ".",
  ]);
  assert.deepEqual(words("J. K. Rowling at 10:30 on 1996-08-22, 50% off."), ["J.", "K.", "Rowling", "at", "10:30", "on", "1996-08-22", ",", "50", "%", "off", "."]);
  assert.deepEqual(words("Acme Inc. and Co."), ["Acme", "Inc.", "and", "Co."]);
  // Not an abbreviation: "Com." is not known, "Mrs" without a dot is a word.
  assert.deepEqual(words("Com. Mrs"), ["Com", ".", "Mrs"]);
});

test("hyphenated words, URLs and e-mail addresses stay whole", () => {
  assert.deepEqual(words("a well-known state-of-the-art BiLSTM-CRF"), ["a", "well-known", "state-of-the-art", "BiLSTM-CRF"]);
  assert.deepEqual(words("Visit https://example.com/a?b=1&c=2. Or www.example.org, or mail ross.geller@uni.example.dk!"), [
    "Visit", "https://example.com/a?b=1&c=2", ".", "Or", "www.example.org", ",", "or", "mail", "ross.geller@uni.example.dk", "!",
  ]);
  assert.deepEqual(words("(see http://x.org/p)"), ["(", "see", "http://x.org/p", ")"]);
});

test("non-ASCII words and offsets into the original text", () => {
  assert.deepEqual(words("Zürich’s café — naïve"), ["Zürich", "’s", "café", "—", "naïve"]);
  const text = "  Hello  my name is Ross.\n\tI live in Denmark 😀 ok. ";
  const toks = tokenize(text);
  assert.deepEqual(toks[0], { text: "Hello", start: 2, end: 7 });
  assert.ok(toks.some((t) => t.text === "😀"));
  offsetsIndexOriginal(text);
  offsetsIndexOriginal("Mr. O'Neil's e-mail: a@b.co (https://x.y/z). Don't!");
  assert.deepEqual(tokenize(""), []);
  assert.deepEqual(tokenize("  \n "), []);
});

test("splitSentences: ends at .!? before a capital or the end", () => {
  const text = "Hello my name is Ross. I live in Denmark and study at Aarhus University! Do you? yes, lowercase goes on.";
  assert.deepEqual(
    splitSentences(text).map((s) => s.text),
    ["Hello my name is Ross.", "I live in Denmark and study at Aarhus University!", "Do you? yes, lowercase goes on."],
  );
  const spans = splitSentences(text);
  assert.equal(spans[1]!.start, text.indexOf("I live"));
  offsetsIndexOriginal(text);
});

test("splitSentences: not after abbreviations, numbers or dots inside tokens", () => {
  assert.deepEqual(
    splitSentences("Mr. Smith met Dr. Jones in the U.S. Army base. It cost 3.5 dollars. See www.x.com. Then go.").map((s) => s.text),
    ["Mr. Smith met Dr. Jones in the U.S. Army base.", "It cost 3.5 dollars.", "See www.x.com.", "Then go."],
  );
  assert.deepEqual(splitSentences("end.Next word").map((s) => s.text), ["end.Next word"]);
});

test("splitSentences: closing quotes stay with their sentence, blank lines split, no terminator needed", () => {
  const text = 'He said "Stop." Then he left.\n\nnew paragraph without a dot\nstill same';
  assert.deepEqual(splitSentences(text).map((s) => s.text), ['He said "Stop."', "Then he left.", "new paragraph without a dot\nstill same"]);
  assert.deepEqual(splitSentences('Really? "Yes," she said.').map((s) => s.text), ["Really?", '"Yes," she said.']);
  assert.deepEqual(splitSentences("   "), []);
  const grouped = tokenizeSentences("Hi there. Bye.");
  assert.deepEqual(grouped.map((s) => s.map((t) => t.text)), [["Hi", "there", "."], ["Bye", "."]]);
  assert.equal(grouped[1]![0]!.start, 10);
});

test("cannot, emoji sequences and invisible characters", () => {
  assert.deepEqual(words("I cannot go"), ["I", "can", "not", "go"]);
  assert.deepEqual(words("great 👍🏽 family 👨‍👩‍👧 ok❤️"), ["great", "👍🏽", "family", "👨‍👩‍👧", "ok", "❤️"]);
  const zw = "Aarhus\u200B University\uFEFF";
  assert.deepEqual(words(zw), ["Aarhus", "University"]);
  offsetsIndexOriginal(zw);
  offsetsIndexOriginal("a 👨‍👩‍👧 b 👍🏽.");
});

test("URLs keep brackets they opened and drop sentence punctuation", () => {
  assert.deepEqual(words("See https://en.wikipedia.org/wiki/Mercury_(planet)."), ["See", "https://en.wikipedia.org/wiki/Mercury_(planet)", "."]);
  assert.deepEqual(words("(https://x.org/a_(b))"), ["(", "https://x.org/a_(b)", ")"]);
  assert.deepEqual(words("www.example.com/path?q=1!"), ["www.example.com/path?q=1", "!"]);
});

test("the example from the exercise", () => {
  const text = "Hello my name is Ross. I live in Denmark and work at Aarhus University, I am Scottish and today is Friday 27th.";
  assert.deepEqual(tokenizeSentences(text).map((s) => s.map((t) => t.text)), [
    ["Hello", "my", "name", "is", "Ross", "."],
    ["I", "live", "in", "Denmark", "and", "work", "at", "Aarhus", "University", ",", "I", "am", "Scottish", "and", "today", "is", "Friday", "27th", "."],
  ]);
});

test("long adversarial runs stay linear and keep every character", () => {
  for (const unit of ["a.", "1,", "a-", "x@", "'s", "..", "http://", "👍🏽"]) {
    const text = unit.repeat(20000);
    const toks = tokenize(text);
    assert.equal(toks.map((t) => t.text).join(""), text);
    for (const t of toks) assert.equal(text.slice(t.start, t.end), t.text);
  }
});
