/**
 * The code in README.md and docs/*.md is what users copy: every TypeScript block that imports from
 * "lstm-ner" must compile against the package as built (strict), and the README's train() quickstart
 * must run and learn on the toy corpus. A renamed export or option then fails here, not in a user's editor.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { toyConll, toyGlove } from "./toy-corpus.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const pages = ["README.md", ...readdirSync(path.join(root, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];

interface Snippet {
  page: string;
  line: number;
  code: string;
}

/** The ```ts blocks of a Markdown page that import from the package. */
function snippets(page: string): Snippet[] {
  const text = readFileSync(path.join(root, page), "utf8");
  const out: Snippet[] = [];
  for (const m of text.matchAll(/^```ts\n([\s\S]*?)^```/gm)) {
    if (!/from "lstm-ner"/.test(m[1]!)) continue;
    out.push({ page, line: text.slice(0, m.index).split("\n").length, code: m[1]! });
  }
  return out;
}

/** A scratch project whose node_modules/lstm-ner is this repository (as `npm install` would give it). */
function scratchProject(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "lstm-ner-docs-"));
  mkdirSync(path.join(dir, "node_modules"));
  symlinkSync(root, path.join(dir, "node_modules", "lstm-ner"), "dir");
  writeFileSync(path.join(dir, "package.json"), JSON.stringify({ type: "module" }));
  return dir;
}

test("every TypeScript snippet of the README and docs/ that imports lstm-ner compiles against the package", () => {
  const all = pages.flatMap(snippets);
  assert.ok(all.length >= 5, `expected the README and docs to hold TypeScript examples, found ${all.length}`);
  const dir = scratchProject();
  try {
    const names = all.map((s, i) => {
      const name = `${s.page.replace(/[/.]/g, "_")}_line${s.line}_${i}.ts`;
      writeFileSync(path.join(dir, name), s.code + "\nexport {};\n");
      return name;
    });
    writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify({
      compilerOptions: {
        target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", lib: ["ES2023", "DOM"], strict: true, noEmit: true,
        skipLibCheck: true, types: ["node"], typeRoots: [path.join(root, "node_modules/@types")],
      },
      files: names,
    }));
    const r = spawnSync(process.execPath, [path.join(root, "node_modules/typescript/bin/tsc"), "-p", dir], { encoding: "utf8", cwd: dir });
    // tsc names the scratch file; its name says which page and line the snippet starts on.
    assert.equal(r.status, 0, `a documented snippet does not compile:\n${r.stdout}${r.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the README's train() quickstart runs as written and learns (toy corpus, 3 epochs)", () => {
  const s = snippets("README.md").find((x) => x.code.includes("train(model, optimizer"));
  assert.ok(s, "the README should show train() from code");
  // The only changes: toy vectors instead of a download, and a short run.
  const vectorsCall = /loadVectors\("[^"]+"\)/;
  const presetCall = /getPreset\("(\w+)"\)/;
  assert.match(s.code, vectorsCall);
  assert.match(s.code, presetCall);
  const code = s.code.replace(vectorsCall, 'loadVectors("vectors.txt")').replace(presetCall, '{ ...getPreset("$1"), epochs: 3 }');
  const dir = scratchProject();
  try {
    const trainFile = /readConll\("([^"]+)"\)/g;
    const files = [...code.matchAll(trainFile)].map((m) => m[1]!);
    assert.equal(files.length, 2, "the snippet reads a train and a dev file");
    writeFileSync(path.join(dir, files[0]!), toyConll(600, 1));
    writeFileSync(path.join(dir, files[1]!), toyConll(100, 2));
    writeFileSync(path.join(dir, "vectors.txt"), toyGlove(10, 3));
    writeFileSync(path.join(dir, "quickstart.mjs"), code);
    const r = spawnSync(process.execPath, ["quickstart.mjs"], { encoding: "utf8", cwd: dir, env: { ...process.env, LSTM_NER_HOME: path.join(dir, "home") } });
    assert.equal(r.status, 0, r.stderr);
    const f1s = [...r.stdout.matchAll(/dev F1 (\d+\.\d+)/g)].map((m) => Number(m[1]));
    assert.equal(f1s.length, 3, r.stdout);
    assert.ok(Math.max(...f1s) > 50 && f1s[2]! > f1s[0]!, `dev F1 should rise: ${f1s}`);
    const saved = /saveNerModel\("([^"]+)"/.exec(code)?.[1];
    assert.ok(saved && existsSync(path.join(dir, saved)), "the model file is written");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
const anchorOf = (heading: string): string => heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\- _]/gu, "").replace(/ /g, "-");
const withoutCode = (text: string): string => text.replace(/^```[\s\S]*?^```/gm, "");

test("every relative link of the README and docs/ reaches an existing file, and its #anchor a heading there", () => {
  const headings = new Map<string, Set<string>>();
  const anchorsOf = (page: string): Set<string> => {
    let set = headings.get(page);
    if (!set) {
      const text = withoutCode(readFileSync(path.join(root, page), "utf8"));
      set = new Set([...text.matchAll(/^#+ (.*)$/gm)].map((m) => anchorOf(m[1]!)));
      headings.set(page, set);
    }
    return set;
  };
  const broken: string[] = [];
  for (const page of pages) {
    const text = withoutCode(readFileSync(path.join(root, page), "utf8"));
    for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const link = m[1]!;
      if (/^[a-z]+:/.test(link)) continue;
      const [file = "", anchor] = link.split("#");
      const target = file === "" ? page : path.posix.normalize(path.posix.join(path.posix.dirname(page), file));
      if (!existsSync(path.join(root, target))) broken.push(`${page}: ${link} (no such file)`);
      else if (anchor !== undefined && target.endsWith(".md") && !anchorsOf(target).has(anchor)) broken.push(`${page}: ${link} (no such heading)`);
    }
  }
  assert.deepEqual(broken, []);
});

test("every option the README and docs/ show in a command line of a code block is one that command's --help lists", () => {
  const helpOf = new Map<string, string>();
  const help = (cmd: string): string => {
    let h = helpOf.get(cmd);
    if (h === undefined) {
      const r = spawnSync(process.execPath, [path.join(root, "dist/src/cli/main.js"), ...cmd.split(" "), "--help"], { encoding: "utf8" });
      assert.equal(r.status, 0, `lstm-ner ${cmd} --help: ${r.stderr}`);
      h = r.stdout;
      helpOf.set(cmd, h);
    }
    return h;
  };
  const wrong: string[] = [];
  let checked = 0;
  for (const page of pages) {
    const text = readFileSync(path.join(root, page), "utf8");
    for (const block of text.matchAll(/^```(?:sh)?\n([\s\S]*?)^```/gm)) {
      // A command line and the indented lines that continue it (a synopsis, or a line ending in \).
      const commands: string[] = [];
      for (const line of block[1]!.split("\n")) {
        const start = /^(?:[A-Z_]+=\S+ )*(?:npx )?lstm-ner (.*)$/.exec(line);
        if (start) commands.push(start[1]!);
        else if (/^\s+\S/.test(line) && commands.length > 0) commands[commands.length - 1] += " " + line.trim();
        else commands.push("");
      }
      for (const c of commands.filter((x) => x !== "")) {
        const words = c.replace(/#.*$/, "").split(/\s+/);
        const cmd = words[0] === "vectors" ? `vectors ${words[1]}` : words[0]!;
        if (!/^[a-z]+( [a-z]+)?$/.test(cmd)) continue;
        const h = help(cmd);
        for (const opt of new Set(c.replace(/#.*$/, "").match(/--[a-z][a-z-]*/g) ?? [])) {
          checked++;
          if (opt !== "--help" && !new RegExp(`${opt}\\b(?!-)`).test(h)) wrong.push(`${page}: lstm-ner ${cmd} ${opt}`);
        }
      }
    }
  }
  assert.ok(checked > 50, `expected the docs to show many command lines, checked ${checked} options`);
  assert.deepEqual(wrong, []);
});
