import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { CLI, toyModel } from "./pipeline-helpers.js";
import { writeToyData } from "./toy-corpus.js";

/**
 * A runtime without WebAssembly SIMD, for real: V8 run as on a CPU without
 * SSE4.1 (--no-enable-sse4-1), where SIMD modules fail to compile.
 */
const NO_SIMD = ["--no-enable-sse4-1"];
const ENGINE = new URL("../src/engine/index.js", import.meta.url).href;

function node(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [...NO_SIMD, ...args], { encoding: "utf8" });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

test("without WebAssembly SIMD: simdAvailable() is false, loading the kernels says why, auto falls back to the reference kernels", () => {
  const script = `
    const { simdAvailable, loadWasmKernels, getKernels } = await import(${JSON.stringify(ENGINE)});
    let error = null;
    try { await loadWasmKernels(); } catch (e) { error = e.name + ": " + e.message; }
    console.log(JSON.stringify({ simd: simdAvailable(), error, auto: (await getKernels("auto")).name }));`;
  const r = node(["--input-type=module", "-e", script]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { simd: boolean; error: string | null; auto: string };
  assert.equal(out.simd, false);
  assert.match(out.error ?? "", /^LstmNerError: .*kernels\.wasm: this runtime has no WebAssembly SIMD \(an old browser, or a CPU without SSE4\.1\), which lstm-ner's WebAssembly kernels need \(.*SIMD unsupported/);
  assert.equal(out.auto, "reference");
  // The same runtime with SIMD on loads them: the probe tells the two apart.
  const on = spawnSync(process.execPath, ["--input-type=module", "-e", `const e = await import(${JSON.stringify(ENGINE)}); console.log(e.simdAvailable(), (await e.loadWasmKernels()).name);`], { encoding: "utf8" });
  assert.equal(on.stdout.trim(), "true wasm-simd", on.stderr);
});

test("without WebAssembly SIMD, a command asked for the WASM kernels prints one line and exits 1", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "lstm-ner-nosimd-"));
  const { devFile } = writeToyData(dir, 20);
  const r = node([CLI, "evaluate", "--model", (await toyModel()).file, "--data", devFile, "--kernels", "wasm"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^lstm-ner: .*this runtime has no WebAssembly SIMD/);
  assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
});
