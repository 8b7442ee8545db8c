/**
 * Shared set-up of the pipeline, server and browser tests: a small model
 * trained in-process on the synthetic toy corpus (a few seconds), saved to a
 * temporary file.
 */
import { existsSync, mkdtempSync } from "node:fs";
import type { Browser } from "playwright-core";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { getKernels } from "../src/engine/index.js";
import type { Vectors } from "../src/embeddings/types.js";
import { parseConll } from "../src/data/conll.js";
import { CONLL_LABELS } from "../src/data/types.js";
import { NerModel } from "../src/model/ner.js";
import { saveNerModel } from "../src/model/file.js";
import { createOptimizer } from "../src/train/optimizer.js";
import { train } from "../src/train/trainer.js";
import { toyConll, toyGlove } from "./toy-corpus.js";

export { CLI } from "./helpers.js";

/** GloVe text → vectors, for the toy file only. */
export function parseGlove(text: string): Vectors {
  const rows = text.trim().split("\n").map((l) => l.split(" "));
  const dim = rows[0]!.length - 1;
  const data = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => r.slice(1).forEach((v, j) => { data[i * dim + j] = Number(v); }));
  return { words: rows.map((r) => r[0]!), dim, data };
}

let cached: Promise<{ file: string; model: NerModel }> | undefined;

/**
 * A BiLSTM trained on the toy corpus until it tags it well, and its model
 * file. Trained once per test process.
 */
export function toyModel(): Promise<{ file: string; model: NerModel }> {
  cached ??= (async () => {
    const kernels = await getKernels("auto");
    const model = NerModel.create(kernels, {
      vectors: parseGlove(toyGlove(12, 3)), labels: CONLL_LABELS, scheme: "IOB2", hidden: 16,
      bidirectional: true, outputs: CONLL_LABELS.length + 1, trainableEmbeddings: false, seed: 7,
    });
    const trainSet = parseConll(toyConll(240, 1));
    const dev = parseConll(toyConll(60, 2));
    await train(model, createOptimizer(kernels, model.params(), 0.02), trainSet, dev, model.encoder(), { epochs: 6, batchSize: 8, seed: 7, batching: "plain" });
    const file = path.join(mkdtempSync(path.join(tmpdir(), "lstm-ner-pipeline-")), "toy.safetensors");
    await saveNerModel(file, model, { preset: "toy" });
    return { file, model };
  })();
  return cached;
}

/** A text the toy model tags as PER, LOC, ORG (in that order). */
export const TOY_TEXT = "John Smith lives in London and works for Microsoft.";

/** Debian's Chromium, driven by playwright-core in the page and browser-build tests. */
export const CHROMIUM = "/usr/bin/chromium";

/** `skip` option for browser tests: a reason when Chromium is absent, else false. */
export const skipWithoutChromium: string | false = existsSync(CHROMIUM)
  ? false
  : `skipped: ${CHROMIUM} is not installed (apt-get install chromium; .ci/run installs it)`;

/**
 * Headless Chromium with the flags this machine needs (no sandbox as root, no GPU, no background traffic),
 * and `extra` flags (e.g. `--js-flags=...` for V8).
 */
export async function launchChromium(extra: readonly string[] = []): Promise<Browser> {
  const { chromium } = await import("playwright-core");
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", ...extra],
  });
}

/** CSS colours → "r,g,b". */
export const RGB = { PER: [0xaa, 0x9c, 0xfc], LOC: [0xff, 0x95, 0x61], ORG: [0x7a, 0xec, 0xec] } as const;

/**
 * How many pixels of a PNG screenshot are (within a small tolerance) each
 * of the given colours; decoded by the browser itself on a blank page.
 */
export async function countColours(browser: Browser, png: Buffer, colours: Record<string, readonly number[]>): Promise<Record<string, number>> {
  const page = await browser.newPage();
  try {
    return await page.evaluate(async ({ b64, colours: cs }) => {
      const img = new Image();
      img.src = `data:image/png;base64,${b64}`;
      await img.decode();
      const canvas = document.createElement("canvas");
      canvas.width = img.width;
      canvas.height = img.height;
      const ctx = canvas.getContext("2d")!;
      ctx.drawImage(img, 0, 0);
      const data = ctx.getImageData(0, 0, img.width, img.height).data;
      const counts: Record<string, number> = {};
      for (const [name, [r, g, b]] of Object.entries(cs)) {
        let n = 0;
        for (let i = 0; i < data.length; i += 4) {
          if (Math.abs(data[i]! - r!) <= 3 && Math.abs(data[i + 1]! - g!) <= 3 && Math.abs(data[i + 2]! - b!) <= 3) n++;
        }
        counts[name] = n;
      }
      return counts;
    }, { b64: png.toString("base64"), colours });
  } finally {
    await page.close();
  }
}
