#!/usr/bin/env node
// Bundles the inference path for browsers: build/browser/lstm-ner.js (ESM, the
// package's browser entry), the WASM kernels, their helper thread's script and
// the English model next to it (where the bundle looks for them), and the demo
// page. Node built-ins are refused: the build fails if any is reachable.
import { build } from "esbuild";
import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as path from "node:path";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const out = path.join(root, "build/browser");
mkdirSync(out, { recursive: true });

const noNode = {
  name: "no-node-builtins",
  setup(b) {
    b.onResolve({ filter: /^node:|^(fs|path|os|http|stream|zlib|crypto|child_process|url|events|readline|net|worker_threads|v8)(\/|$)/ }, (args) => ({
      errors: [{ text: `${args.path} (a Node module) is imported by ${path.relative(root, args.importer)}, which the browser bundle includes` }],
    }));
  },
};

const result = await build({
  entryPoints: [path.join(root, "src/browser.ts")],
  outfile: path.join(out, "lstm-ner.js"),
  bundle: true,
  format: "esm",
  platform: "browser",
  target: ["es2022"],
  sourcemap: true,
  metafile: true,
  minify: false,
  legalComments: "none",
  plugins: [noNode],
  logLevel: "warning",
});

// The training report's chart script (uPlot + src/report/report-page.ts), inlined by `lstm-ner report`.
await build({
  entryPoints: [path.join(root, "src/report/report-page.ts")],
  outfile: path.join(out, "report.js"),
  bundle: true, format: "iife", platform: "browser", target: ["es2022"], minify: true, legalComments: "none",
  plugins: [noNode], logLevel: "warning",
});
copyFileSync(path.join(root, "node_modules/uplot/dist/uPlot.min.css"), path.join(out, "uPlot.min.css"));

// The training page: its script and its worker. The worker parses CoNLL with src/data/conll.ts, whose
// file-reading half imports Node modules it never calls there; those imports get inert stand-ins.
const INERT = {
  "node:fs": "export const promises = {}; export default {};",
  "node:path": "const no = () => { throw new Error('not in the browser'); }; export { no as dirname, no as join, no as basename, no as resolve }; export default {};",
  "node:util": "export function promisify() { return () => { throw new Error('not in the browser'); }; }",
  "node:zlib": "export const gunzip = undefined, gzip = undefined;",
};
const READERS = new Set(["src/data/conll.ts", "src/util/atomic.ts", "src/util/read-text.ts"].map((f) => path.join(root, f)));
const inertNode = {
  name: "inert-node-imports",
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (args) => (READERS.has(args.importer) && args.path in INERT ? { path: args.path, namespace: "inert" } : undefined));
    b.onLoad({ filter: /.*/, namespace: "inert" }, (args) => ({ contents: INERT[args.path], loader: "js" }));
  },
};
await build({
  entryPoints: {
    "train": path.join(root, "src/web/train-page.ts"), "train-worker": path.join(root, "src/web/train-worker.ts"),
    // The kernels' second thread in cross-origin-isolated pages (a Web Worker the training worker starts).
    "kernels-helper": path.join(root, "src/engine/worker-web.ts"),
  },
  outdir: out, bundle: true, format: "esm", platform: "browser", target: ["es2022"], sourcemap: true, legalComments: "none",
  plugins: [inertNode, noNode], logLevel: "warning",
});
copyFileSync(path.join(root, "web/train.html"), path.join(out, "train.html"));

for (const f of ["kernels.wasm", "kernels-st.wasm"]) copyFileSync(path.join(root, "build", f), path.join(out, f));
// The English model (made by scripts/make-en-model.mjs): the package ships this copy, which Node's load("en"),
// --model en and the demo page read too.
const model = path.join(root, "models/en.safetensors");
if (!existsSync(model)) {
  console.error("models/en.safetensors is missing: the repository holds it (git checkout -- models/en.safetensors)");
  process.exit(1);
}
copyFileSync(model, path.join(out, "en.safetensors"));
copyFileSync(path.join(root, "web/demo.html"), path.join(out, "demo.html"));
const bytes = result.metafile.outputs[path.relative(process.cwd(), path.join(out, "lstm-ner.js"))]?.bytes;
console.log(`build/browser: lstm-ner.js${bytes ? ` (${(bytes / 1024).toFixed(0)} KiB)` : ""}, kernels.wasm, kernels-st.wasm, en.safetensors, demo.html, report.js, uPlot.min.css, train.html, train.js, train-worker.js, kernels-helper.js`);
