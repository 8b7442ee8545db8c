import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { removeStaleTemporaries, removeStaleTemps, temporaryPath, writeFileAtomic } from "../src/util/atomic.js";
import { vectorCachePath } from "../src/embeddings/cache.js";
import { readVectors } from "../src/embeddings/read.js";

const ATOMIC = pathToFileURL(path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../src/util/atomic.js")).href;

/**
 * A real process in the middle of writeFileAtomic(target): it writes 64 KB
 * chunks every 20 ms and never finishes. Resolves once a chunk is on disk.
 */
async function slowWriter(target: string): Promise<ChildProcess> {
  const code = `
    import { writeFileAtomic } from ${JSON.stringify(ATOMIC)};
    const pause = new Int32Array(new SharedArrayBuffer(4));
    function* chunks() {
      const c = new Uint8Array(1 << 16).fill(7);
      for (let i = 0; ; i++) {
        if (i === 2) process.stdout.write("writing\\n");
        yield c;
        Atomics.wait(pause, 0, 0, 20);
      }
    }
    await writeFileAtomic(process.argv[1], chunks());`;
  const child = spawn(process.execPath, ["--input-type=module", "-e", code, target], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => { if (d.toString().includes("writing")) resolve(); });
    child.once("exit", (c) => reject(new Error(`writer exited early (${c})`)));
  });
  return child;
}

async function temporaries(dir: string): Promise<string[]> {
  return (await fs.readdir(dir)).filter((n) => n.endsWith(".tmp")).map((n) => path.join(dir, n));
}

async function kill9(child: ChildProcess): Promise<void> {
  const exited = once(child, "exit");
  child.kill("SIGKILL");
  const [code, signal] = await exited;
  assert.equal(code, null);
  assert.equal(signal, "SIGKILL");
}

test("a live writer's temporary survives the cleanup; after kill -9 the next cleanup removes it", async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "lstm-ner-atomic-"));
  const target = path.join(dir, "model.safetensors");
  await fs.writeFile(target, "the previous model");
  const child = await slowWriter(target);
  try {
    const [tmp] = await temporaries(dir);
    assert.ok(tmp !== undefined && path.basename(tmp).startsWith(`model.safetensors.${child.pid}.`), String(tmp));
    assert.deepEqual(await removeStaleTemporaries(dir), []);
    // The writer keeps writing into its temporary after the cleanup (polled: the machine may be busy).
    const size = (await fs.stat(tmp)).size;
    let grown = false;
    for (let i = 0; i < 300 && !grown; i++) {
      await new Promise((r) => setTimeout(r, 50));
      grown = (await fs.stat(tmp)).size > size;
    }
    assert.ok(grown, "the writer kept writing into its temporary");
  } finally {
    await kill9(child);
  }
  const left = await temporaries(dir);
  assert.equal(left.length, 1, "kill -9 leaves the temporary behind");
  assert.ok((await fs.stat(left[0]!)).size > 0);
  // Another target's temporaries are not touched when a target is named.
  assert.deepEqual(await removeStaleTemporaries(dir, { target: "other.safetensors" }), []);
  assert.deepEqual(await removeStaleTemps(path.join(dir, "other.safetensors")), []);
  assert.deepEqual(await removeStaleTemps(target), left);
  assert.deepEqual(await temporaries(dir), []);
  assert.equal(await fs.readFile(target, "utf8"), "the previous model", "the target itself is never touched");
});

test("temporaries of this process are kept, of an earlier process with this pid removed; others by liveness and age", async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "lstm-ner-atomic-"));
  const target = path.join(dir, "f.bin");
  const mine = temporaryPath(target);
  const earlierMe = `${target}.${process.pid}.12345.0.tmp`;
  const oldFormatMe = `${target}.${process.pid}.${Date.now()}.tmp`;
  const parentFresh = `${target}.${process.ppid}.1.0.tmp`;
  const parentOld = path.join(dir, `g.bin.${process.ppid}.1.0.tmp`);
  const unrelated = path.join(dir, "notes.tmp");
  for (const f of [mine, earlierMe, oldFormatMe, parentFresh, parentOld, unrelated]) await fs.writeFile(f, "x");
  const hourAgo = new Date(Date.now() - 2 * 3_600_000);
  await fs.utimes(parentOld, hourAgo, hourAgo);
  const removed = await removeStaleTemporaries(dir);
  assert.deepEqual(removed.sort(), [earlierMe, oldFormatMe, parentOld].sort());
  assert.deepEqual((await temporaries(dir)).sort(), [mine, parentFresh, unrelated].sort());
  // writeFileAtomic itself leaves nothing behind.
  await writeFileAtomic(target, "done");
  assert.equal(await fs.readFile(target, "utf8"), "done");
  assert.equal((await temporaries(dir)).length, 3);
});

test("the vector cache: a writer killed with -9 leaves a .tmp that the next readVectors removes, a live one's is kept", async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "lstm-ner-atomic-"));
  const src = path.join(dir, "vec.txt");
  await fs.writeFile(src, "a 1 2\nb 3 4\n");
  const cache = path.join(dir, "cache");
  const cacheFile = vectorCachePath(cache, src, "auto|");
  await fs.mkdir(path.dirname(cacheFile), { recursive: true });
  const child = await slowWriter(cacheFile);
  try {
    assert.deepEqual((await readVectors(src, { cacheDir: cache })).words, ["a", "b"]);
    assert.equal((await temporaries(path.dirname(cacheFile))).length, 1, "a live writer is not harmed");
  } finally {
    await kill9(child);
  }
  assert.equal((await temporaries(path.dirname(cacheFile))).length, 1);
  assert.deepEqual((await readVectors(src, { cacheDir: cache })).words, ["a", "b"]);
  assert.deepEqual(await temporaries(path.dirname(cacheFile)), []);
});
