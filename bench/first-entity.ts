/**
 * Time to first entity, cold, with the English model that comes with the
 * package (build/browser/en.safetensors):
 *
 * - import: `import "lstm-ner"` in a fresh Node process (the import alone,
 *   timed inside the process, and the whole process);
 * - cli: `lstm-ner predict --model en "…"` from spawn to exit;
 * - page: the demo page (build/browser/demo.html, served on localhost) in
 *   Chromium, from navigation start to the first highlighted entity, in a
 *   fresh browser context (empty cache) each run.
 *
 * Prints the median and the range over the runs with the CPU time beside the
 * wall time (the CLI's process, threads included; the browser's processes, on
 * Linux), and the load average before and after: on a shared machine the wall
 * time waits for cores, the CPU time does not.
 *
 *   node dist/bench/first-entity.js [--runs 7] [--only import|cli|page]
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { loadavg } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const CLI = path.join(ROOT, "dist/src/cli/main.js");
const WEB = path.join(ROOT, "build/browser");
const CHROMIUM = "/usr/bin/chromium";
const TEXT = "Angela Merkel met Emmanuel Macron in Paris on Tuesday, and Siemens shares rose.";

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
};
const runs = Number(arg("--runs") ?? 7);
const only = arg("--only");

if (!existsSync(path.join(WEB, "en.safetensors"))) {
  console.error("build/browser/en.safetensors is missing: run npm run build");
  process.exit(1);
}

const load = (): string => loadavg().map((x) => x.toFixed(2)).join(" ");
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
function report(what: string, ms: number[], cpu?: number[]): void {
  const range = (xs: number[]): string => `median ${median(xs).toFixed(0)} ms (min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)})`;
  console.log(`${what}: wall ${range(ms)}${cpu && cpu.length > 0 ? `, CPU ${range(cpu)}` : ""}, ${ms.length} runs`);
}

/** CPU time (user + system, ms) of this process's descendants, from /proc (Linux; undefined elsewhere). */
function childrenCpuMs(): number | undefined {
  if (!existsSync("/proc/self/stat")) return undefined;
  const parent = new Map<number, number>();
  const ticks = new Map<number, number>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const s = readFileSync(`/proc/${d}/stat`, "utf8");
      const f = s.slice(s.lastIndexOf(")") + 2).split(" "); // fields from the 3rd (state) on
      parent.set(Number(d), Number(f[1]));
      ticks.set(Number(d), Number(f[11]) + Number(f[12])); // utime + stime
    } catch {
      // the process ended meanwhile
    }
  }
  const mine = (pid: number): boolean => {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) if (p === process.pid) return true;
    return false;
  };
  let sum = 0;
  for (const [pid, t] of ticks) if (mine(pid)) sum += t;
  return sum * 10; // USER_HZ is 100 on Linux
}

// The CLI's own CPU time (all its threads), printed to stderr as it exits.
const CPU_HOOK = "data:text/javascript," + encodeURIComponent(
  `process.on("exit", () => { const u = process.cpuUsage(); process.stderr.write("\\ncpu-ms " + (u.user + u.system) / 1000 + "\\n"); });`);
const cpuOf = (stderr: string): number => Number(/\ncpu-ms ([\d.]+)\n/.exec(stderr)?.[1] ?? NaN);

console.log(`load average before: ${load()}`);

if (only === undefined || only === "import") {
  const inside: number[] = [];
  const whole: number[] = [];
  const cpu: number[] = [];
  const code = `const t = performance.now(); await import("lstm-ner"); console.log(performance.now() - t);`;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, ["--import", CPU_HOOK, "--input-type=module", "-e", code], { cwd: ROOT, encoding: "utf8" });
    whole.push(performance.now() - t0);
    if (r.status !== 0) throw new Error(r.stderr);
    inside.push(Number(r.stdout.trim()));
    cpu.push(cpuOf(r.stderr));
  }
  report('import "lstm-ner" (the import)', inside);
  report('import "lstm-ner" (node process, start to exit)', whole, cpu);
}

if (only === undefined || only === "cli") {
  const ms: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, ["--import", CPU_HOOK, CLI, "predict", "--model", "en", TEXT], { encoding: "utf8" });
    ms.push(performance.now() - t0);
    if (r.status !== 0 || !/^Angela B-PER$/m.test(r.stdout)) throw new Error(`predict: ${r.stderr}${r.stdout}`);
    cpu.push(cpuOf(r.stderr));
  }
  report(`lstm-ner predict --model en "…" (spawn to exit)`, ms, cpu);
}

if (only === undefined || only === "page") {
  const TYPES: Record<string, string> = { ".js": "text/javascript", ".html": "text/html", ".wasm": "application/wasm" };
  const server = createServer((req, res) => {
    const f = path.join(WEB, path.basename(new URL(req.url ?? "/", "http://x").pathname));
    if (!existsSync(f)) return void res.writeHead(404).end();
    res.writeHead(200, { "Content-Type": TYPES[path.extname(f)] ?? "application/octet-stream" }).end(readFileSync(f));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/demo.html`;
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
  const ms: number[] = [];
  const cpu: number[] = [];
  let kernels = "";
  try {
    for (let i = 0; i < runs; i++) {
      const context = await browser.newContext(); // empty cache
      const page = await context.newPage();
      // Stamps the moment the first entity is on the page, in ms since navigation start.
      await page.addInitScript(() => {
        new MutationObserver((_m, obs) => {
          if (document.querySelector("#result mark")) {
            (window as { firstEntity?: number }).firstEntity = performance.now();
            obs.disconnect();
          }
        }).observe(document, { childList: true, subtree: true });
      });
      const cpu0 = childrenCpuMs();
      await page.goto(url);
      const t = await page.waitForFunction(() => (window as { firstEntity?: number }).firstEntity, undefined, { timeout: 60_000 });
      const cpu1 = childrenCpuMs();
      ms.push(await t.jsonValue() as number);
      if (cpu0 !== undefined && cpu1 !== undefined) cpu.push(cpu1 - cpu0);
      kernels = /kernels: ([\w-]+)/.exec(await page.textContent("#status") ?? "")?.[1] ?? "?";
      await context.close();
    }
  } finally {
    await browser.close();
    server.close();
  }
  report(`demo page, navigation start to first entity (Chromium, kernels ${kernels}; CPU: all its processes, 10 ms ticks)`, ms, cpu);
}

console.log(`load average after: ${load()}`);
