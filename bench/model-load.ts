/**
 * Model load time: read + parse (+ float16/int8 → float32) + build the model,
 * for each file given, three times; prints the median per file (JSON lines).
 *
 *   node dist/bench/model-load.js MODEL...
 */
import { statSync } from "node:fs";
import { getKernels, disposeKernels } from "../src/engine/index.js";
import { loadNerModel } from "../src/model/file.js";

const kernels = await getKernels("wasm", { threads: 1 });
for (const file of process.argv.slice(2)) {
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    await loadNerModel(file, kernels);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  console.log(JSON.stringify({ file, mb: Number((statSync(file).size / 1e6).toFixed(1)), load_ms: Math.round(times[1]!) }));
}
await disposeKernels();
