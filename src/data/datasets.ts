import { promises as fs } from "node:fs";
import * as path from "node:path";
import { cacheDir as defaultCacheDir } from "../util/cache.js";
import { download, DownloadError } from "../util/download.js";
import { LstmNerError } from "../util/errors.js";
import type { TextEncodingName } from "../util/decode.js";
import { readConll } from "./conll.js";
import { CONLL_LABELS, type Sentence } from "./types.js";

/** A corpus split into train, validation and (if available) test sentences. */
export interface Dataset {
  name: string;
  /** Label names; a label's index is its class id. */
  labels: string[];
  train: Sentence[];
  validation: Sentence[];
  /** `null` when the source has no test split (e.g. a local folder with train and dev only). */
  test: Sentence[] | null;
  /** The files the splits were read from. */
  files: { train: string; validation: string; test: string | null };
}

/** Options for {@link loadDataset}. */
export interface LoadDatasetOptions {
  /** A local folder with the dataset's files (looked at first). */
  dir?: string;
  /** The cache folder (default {@link defaultCacheDir}). */
  cacheDir?: string;
  /** Never download: use local folders and the cache only. */
  offline?: boolean;
  /** Where to download from instead of the registered URL (a mirror, or a test server). */
  baseUrl?: string;
  /** Download progress of `file` (only called when something is downloaded). */
  onProgress?: (received: number, total: number | undefined, file: string) => void;
  /** How the CoNLL files are decoded: strict `utf8` (default) or `latin1`. */
  encoding?: TextEncodingName;
}

type Split = "train" | "validation" | "test";
const SPLITS: readonly Split[] = ["train", "validation", "test"];

/** How to get a named dataset. */
export interface DatasetSpec {
  name: string;
  /** File names of the splits; `test` may be unavailable in local folders. */
  files: Record<Split, string>;
  /** URL prefix the file names are appended to. */
  baseUrl: string;
  /** Known SHA-256 checksums, verified when downloading. */
  sha256: Partial<Record<Split, string>>;
  labels: readonly string[];
}

const registry = new Map<string, DatasetSpec>();

/** Make a dataset loadable by name (the built-in one is `conllpp`). */
export function registerDataset(spec: DatasetSpec): void {
  registry.set(spec.name, spec);
}

/** Names of the registered datasets. */
export function datasetNames(): string[] {
  return [...registry.keys()];
}

registerDataset({
  name: "conllpp",
  files: { train: "conllpp_train.txt", validation: "conllpp_dev.txt", test: "conllpp_test.txt" },
  baseUrl: "https://github.com/ZihanWangKi/CrossWeigh/raw/master/data/",
  sha256: {
    train: "213953b5522fb7924802d883e50f027b2c6ffb5d4d0e63368ed82909f9b60423",
    validation: "c02eb19809eafb83998326a0481942eb37d96f31826ae387cfe8773699969f5b",
  },
  labels: CONLL_LABELS,
});

/**
 * Load a dataset by name (`"conllpp"`) or from a folder of CoNLL files whose
 * names contain `train`, `dev` or `valid`, and optionally `test`.
 *
 * For a named dataset each file is looked for in `opts.dir`, then in
 * `$LSTM_NER_DATA/<name>/`, then in `<cacheDir>/datasets/<name>/`, and is
 * otherwise downloaded into the cache (unless `offline`). When train came
 * from a local folder that lacks the test split, `test` is `null`.
 *
 * @throws LstmNerError for an unknown name, a file that can be neither found
 * nor downloaded (saying how to work offline), or malformed files.
 */
export async function loadDataset(name: string, opts: LoadDatasetOptions = {}): Promise<Dataset> {
  const spec = registry.get(name);
  if (spec !== undefined) return loadRegistered(spec, opts);
  if (await isDirectory(name)) return loadFolder(name, opts.encoding ?? "utf8");
  throw new LstmNerError(
    `unknown dataset '${name}' (known: ${datasetNames().join(", ")}; or give a folder with *train*, *dev* or *valid*, and optionally *test* files)`,
  );
}

async function loadRegistered(spec: DatasetSpec, opts: LoadDatasetOptions): Promise<Dataset> {
  const localDirs: string[] = [];
  if (opts.dir !== undefined) {
    if (!(await isDirectory(opts.dir))) throw new LstmNerError(`${spec.name}: data folder not found: ${opts.dir}`);
    localDirs.push(opts.dir, path.join(opts.dir, spec.name));
  }
  const envDir = process.env["LSTM_NER_DATA"];
  if (envDir !== undefined && envDir !== "") localDirs.push(path.join(envDir, spec.name), envDir);
  const cache = path.join(opts.cacheDir ?? defaultCacheDir(), "datasets", spec.name);

  const files: Record<Split, string | null> = { train: null, validation: null, test: null };
  let trainIsLocal = false;
  for (const split of SPLITS) {
    const name = spec.files[split];
    const local = await findFile(localDirs, name);
    if (local !== undefined) {
      files[split] = local;
      if (split === "train") trainIsLocal = true;
      continue;
    }
    const cached = await findFile([cache], name);
    if (cached !== undefined) {
      files[split] = cached;
      continue;
    }
    // A local copy without the test split is a complete source as far as it goes.
    if (split === "test" && trainIsLocal) continue;
    files[split] = await fetchInto(spec, split, cache, localDirs, opts);
  }

  const read = (file: string | null): Promise<Sentence[]> => readConll(file!, { labels: spec.labels, encoding: opts.encoding ?? "utf8" });
  return {
    name: spec.name,
    labels: [...spec.labels],
    train: await read(files.train),
    validation: await read(files.validation),
    test: files.test === null ? null : await read(files.test),
    files: { train: files.train!, validation: files.validation!, test: files.test },
  };
}

async function fetchInto(spec: DatasetSpec, split: Split, cache: string, localDirs: readonly string[], opts: LoadDatasetOptions): Promise<string> {
  const name = spec.files[split];
  let base = opts.baseUrl ?? spec.baseUrl;
  if (!base.endsWith("/")) base += "/";
  const url = base + name;
  const searched = [...localDirs, cache].join(", ");
  const hint =
    `Without internet, point at a local copy: --data DIR (a folder with ${spec.files.train}, ${spec.files.validation}[, ${spec.files.test}]) ` +
    `or set LSTM_NER_DATA=DIR (a folder containing ${spec.name}/). Looked in: ${searched}`;
  if (opts.offline === true) {
    throw new LstmNerError(`${spec.name}: ${name} not found and offline mode is on. ${hint}`);
  }
  const onProgress = opts.onProgress;
  try {
    return await download(url, path.join(cache, name), {
      sha256: spec.sha256[split],
      onProgress: onProgress === undefined ? undefined : (received, total) => onProgress(received, total, name),
    });
  } catch (err) {
    const reason = err instanceof DownloadError ? err.reason : err instanceof Error ? err.message : String(err);
    throw new LstmNerError(`${spec.name}: could not download ${url} (${reason}). ${hint}`, { cause: err });
  }
}

/** A folder of arbitrary CoNLL files: labels are the tags found in train. */
async function loadFolder(dir: string, encoding: TextEncodingName): Promise<Dataset> {
  const entries = (await fs.readdir(dir, { withFileTypes: true }))
    .filter((e) => e.isFile() && !/\.(part|tmp)$/.test(e.name) && !e.name.startsWith("."))
    .map((e) => e.name)
    .sort();
  const pick = (split: Split, pattern: RegExp, words: string, required: boolean): string | null => {
    const found = entries.filter((n) => pattern.test(n));
    if (found.length > 1) throw new LstmNerError(`${dir}: several ${split} files (${found.join(", ")}); keep one`);
    if (found.length === 0) {
      if (required) throw new LstmNerError(`${dir}: no ${split} file (expected a file name containing ${words})`);
      return null;
    }
    return path.join(dir, found[0]!);
  };
  const trainFile = pick("train", /train/i, "'train'", true)!;
  const validationFile = pick("validation", /dev|valid/i, "'dev' or 'valid'", true)!;
  const testFile = pick("test", /test/i, "'test'", false);

  const train = await readConll(trainFile, { encoding });
  const labels = labelsFound(train);
  const validation = await readConll(validationFile, { labels, encoding });
  const test = testFile === null ? null : await readConll(testFile, { labels, encoding });
  return {
    name: path.basename(path.resolve(dir)),
    labels,
    train,
    validation,
    test,
    files: { train: trainFile, validation: validationFile, test: testFile },
  };
}

/**
 * The tags occurring in `sentences`: `O` first, then by entity type in
 * alphabetical order, within a type B, I, E, S. Sorting (rather than order of
 * appearance) keeps class ids the same however the file is shuffled.
 */
export function labelsFound(sentences: readonly Sentence[]): string[] {
  const tags = new Set<string>();
  for (const s of sentences) for (const t of s.tags) tags.add(t);
  const order = "BIES";
  const rest = [...tags].filter((t) => t !== "O");
  rest.sort((a, b) => {
    const ta = a.slice(2);
    const tb = b.slice(2);
    if (ta !== tb) return ta < tb ? -1 : 1;
    return order.indexOf(a.charAt(0)) - order.indexOf(b.charAt(0));
  });
  return tags.has("O") ? ["O", ...rest] : rest;
}

async function findFile(dirs: readonly string[], name: string): Promise<string | undefined> {
  for (const dir of dirs) {
    for (const candidate of [name, `${name}.gz`]) {
      const file = path.join(dir, candidate);
      try {
        if ((await fs.stat(file)).isFile()) return file;
      } catch {
        // not there; keep looking
      }
    }
  }
  return undefined;
}

async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isDirectory();
  } catch {
    return false;
  }
}
