/**
 * Interrupted trainings: kill -9 at random points and Ctrl-C, each followed by
 * `--resume`, must end with the very model file an uninterrupted run writes.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { toyConll, writeToyData } from "./toy-corpus.js";
import { CLI, cliAs, crashAt, runCli } from "./helpers.js";

const dir = mkdtempSync(path.join(tmpdir(), "lstm-ner-resume-"));
const { trainFile, devFile, glove } = writeToyData(dir, 1500);
const smallTrain = path.join(dir, "small.txt");
writeFileSync(smallTrain, toyConll(240, 1));

interface Run { code: number | null; signal: NodeJS.Signals | null; stderr: string }

/** Run the CLI; `interrupt` may kill it (given the child and its stderr so far). */
function run(args: string[], interrupt?: (child: ReturnType<typeof spawn>, stderr: () => string) => void): Promise<Run> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (c: string) => { err += c; });
  interrupt?.(child, () => err);
  return new Promise((resolve) => child.on("close", (code, signal) => resolve({ code, signal, stderr: err })));
}

const losses = (log: string): number[] => readFileSync(log, "utf8").trim().split("\n").map((l) => (JSON.parse(l) as { loss: number }).loss);

test("kill -9 at random points, --resume each time: the same model file, byte for byte, as an uninterrupted run", async (t) => {
  // The accurate recipe (SGD with momentum and decay, dropout, char CNN, trainable embeddings, buckets), small.
  // No dev set, so every epoch is saved and the final file holds the last epoch's weights.
  const recipe = ["--preset", "accurate", "--train", trainFile, "--embeddings", glove, "--hidden", "16", "--seed", "3", "--epochs", "10",
    "--set", "feature.chars.filters=10", "--set", "feature.chars.dim=8", "--set", "extendVocab=1", "--no-progress"];
  const whole = path.join(dir, "whole.safetensors");
  const started = Date.now();
  const full = await run(["train", ...recipe, "--out", whole, "--log", path.join(dir, "whole.log")]);
  assert.equal(full.code, 0, full.stderr);
  // An epoch's wall time here, training + evaluation + save (start-up included, so an upper bound):
  // a kill up to this long after an epoch line lands anywhere in the next epoch's cycle, and four kills
  // use at most 8 of the 10 epochs, so the run cannot finish before the fourth (as it could with a
  // fixed 0.8 s on a fast machine).
  const epochMs = (Date.now() - started) / 10;

  const out = path.join(dir, "killed.safetensors");
  const log = path.join(dir, "killed.log");
  const schedule: string[] = [];
  let kills = 0;
  for (let attempt = 0; attempt < 12; attempt++) {
    const resume = existsSync(`${out}.checkpoint`);
    const args = resume ? ["train", "--resume", "--out", out, "--log", log, "--no-progress"] : ["train", ...recipe, "--out", out, "--log", log, "--overwrite"];
    // Four kills, each at a random moment up to an epoch after this process finished an epoch (so that
    // checkpoints exist), which may fall in training, evaluation or a save; then let it finish.
    const afterEpochs = kills < 4 ? 1 : Infinity;
    const delay = Math.random() * epochMs;
    const r = await run(args, (child, stderr) => {
      if (afterEpochs === Infinity) return;
      const poll = setInterval(() => {
        if ((stderr().match(/^epoch \d+:/gm) ?? []).length >= afterEpochs) {
          clearInterval(poll);
          setTimeout(() => child.kill("SIGKILL"), delay);
        }
      }, 2);
      child.on("close", () => clearInterval(poll));
    });
    schedule.push(`${resume ? "resume" : "start"}, kill ${afterEpochs === Infinity ? "-" : `${Math.round(delay)} ms after ${afterEpochs} epochs`}: ${r.signal ?? r.code}`);
    if (r.signal === "SIGKILL") {
      kills++;
      continue;
    }
    assert.equal(r.code, 0, `${schedule.join("; ")}\n${r.stderr}`);
    break;
  }
  t.diagnostic(schedule.join("; "));
  assert.equal(kills, 4, schedule.join("; "));
  assert.ok(schedule.filter((s) => s.startsWith("resume")).length >= 2, `resumed from checkpoints: ${schedule.join("; ")}`);
  assert.ok(readFileSync(out).equals(readFileSync(whole)), `model files differ after ${schedule.join("; ")}`);
  assert.deepEqual(losses(log), losses(path.join(dir, "whole.log")), "the log holds each epoch once, with the same losses");
  assert.ok(!existsSync(`${out}.checkpoint`), "a finished run removes its checkpoint");
  assert.ok(!existsSync(`${out}.lock`), "and its lock");
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith(".tmp")), [], "temporaries of killed saves are cleaned up");
});

test("Ctrl-C stops after writing a checkpoint (exit 130); --resume finishes with the same model file", async () => {
  // The classroom recipe (Adam, dev set, best epoch kept); small batches so that the signal lands mid-run.
  const recipe = ["--train", smallTrain, "--dev", devFile, "--embeddings", glove, "--hidden", "16", "--batch-size", "2", "--lr", "0.005",
    "--seed", "5", "--epochs", "5", "--no-progress"];
  const whole = path.join(dir, "int-whole.safetensors");
  const full = await run(["train", ...recipe, "--out", whole, "--log", path.join(dir, "int-whole.log")]);
  assert.equal(full.code, 0, full.stderr);

  const out = path.join(dir, "int.safetensors");
  const log = path.join(dir, "int.log");
  const first = await run(["train", ...recipe, "--out", out, "--log", log], (child, stderr) => {
    const poll = setInterval(() => {
      if (/epoch 2:/.test(stderr())) {
        clearInterval(poll);
        child.kill("SIGINT");
      }
    }, 5);
  });
  assert.equal(first.code, 130, first.stderr);
  assert.match(first.stderr, /stopping after this batch: writing a checkpoint/);
  assert.match(first.stderr, /stopped: checkpoint written to .*int\.safetensors\.checkpoint; continue with: lstm-ner train --resume --out /);
  assert.ok(existsSync(`${out}.checkpoint`));

  const again = await run(["train", ...recipe.slice(0, 2), "--out", out]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /^lstm-ner: error: .*int\.safetensors\.checkpoint: --out has a checkpoint of an unfinished run: continue it with --resume, or start over with --overwrite\n$/);
  const changed = await run(["train", "--resume", "--out", out, "--lr", "0.1"]);
  assert.equal(changed.code, 1);
  assert.match(changed.stderr, /--resume continues the run with its own settings; drop --lr/);

  // The data changed since the run started: resuming would quietly train another run.
  const original = readFileSync(smallTrain);
  writeFileSync(smallTrain, toyConll(240, 99));
  const otherData = await run(["train", "--resume", "--out", out]);
  writeFileSync(smallTrain, original);
  assert.equal(otherData.code, 1);
  assert.match(otherData.stderr, /int\.safetensors\.checkpoint: --resume: the training data differs from what the run started with; resuming needs the same\n$/);

  const second = await run(["train", "--resume", "--out", out, "--log", log, "--no-progress"]);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stderr, /resuming from .*: epoch \d/);
  assert.ok(readFileSync(out).equals(readFileSync(whole)), "model files differ");
  assert.deepEqual(losses(log), losses(path.join(dir, "int-whole.log")));
  const none = await run(["train", "--resume", "--out", out]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /--resume: no checkpoint to continue/);
});

// The unprivileged user runs a readable copy of the CLI when the checkout's folder is private (root's home, mktemp -d).
const nobody = cliAs(65534);

test("an unwritable --out folder is refused before any data is read", { skip: nobody.skip ?? false }, () => {
  const ro = path.join(dir, "read-only");
  mkdirSync(ro, { mode: 0o555 });
  chmodSync(ro, 0o555);
  chmodSync(dir, 0o755);
  const [cmd, ...args] = nobody.argv!;
  const r = spawnSync(cmd, [...args, "train",
    "--train", path.join(dir, "no-such-file.txt"), "--embeddings", glove, "--out", path.join(ro, "m.safetensors")], { encoding: "utf8" });
  assert.equal(r.status, 1, r.stderr);
  assert.equal(r.stderr, `lstm-ner: error: ${ro}: --out: cannot write in this folder (EACCES: permission denied)\n`);
});

function cli(args: string[], shell?: string): { code: number | null; stderr: string } {
  const r = shell
    ? spawnSync("bash", ["-c", `${shell}; exec "$@"`, "bash", process.execPath, CLI, ...args], { encoding: "utf8" })
    : spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8" });
  return { code: r.status, stderr: r.stderr };
}

test("outputs: checked before any data is read, locked against a second run, never replaced without --overwrite", async () => {
  const base = ["train", "--train", smallTrain, "--embeddings", glove, "--hidden", "8", "--epochs", "1", "--no-progress"];
  const missing = ["train", "--train", path.join(dir, "no-such-file.txt"), "--embeddings", glove, "--no-progress"];
  const isDir = cli([...missing, "--out", dir]);
  assert.equal(isDir.code, 1);
  assert.equal(isDir.stderr, `lstm-ner: error: --out ${dir} is a directory; give a file name\n`);
  const underFile = cli([...missing, "--out", path.join(trainFile, "m.safetensors")]);
  assert.equal(underFile.code, 1);
  assert.equal(underFile.stderr, `lstm-ner: error: ${trainFile}: --out: cannot create its folder (part of the path is a file, not a folder)\n`);
  const logDir = cli([...missing, "--out", path.join(dir, "x.safetensors"), "--log", dir]);
  assert.match(logDir.stderr, /^lstm-ner: error: --log .* is a directory/);

  const out = path.join(dir, "kept.safetensors");
  assert.equal(cli([...base, "--out", out]).code, 0);
  const before = readFileSync(out);
  const again = cli([...base, "--out", out, "--seed", "2"]);
  assert.equal(again.code, 1);
  assert.equal(again.stderr, `lstm-ner: error: ${out}: --out exists (from another run): pass --overwrite to replace it, or choose another --out\n`);
  assert.ok(readFileSync(out).equals(before), "the existing model is untouched");

  // A lock held by a running process is respected; one left by a dead process is taken over.
  const sleeper = spawn("sleep", ["30"]);
  try {
    writeFileSync(`${out}.lock`, `${sleeper.pid}\n`);
    const locked = cli([...base, "--out", out, "--overwrite"]);
    assert.equal(locked.code, 1);
    assert.equal(locked.stderr, `lstm-ner: error: ${out}.lock: --out ${out} is in use by another lstm-ner process (pid ${sleeper.pid}); if it is not running, delete this lock file\n`);
  } finally {
    sleeper.kill();
  }
  const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  const deadPid = Number(dead.stdout);
  writeFileSync(`${out}.lock`, `${deadPid}\n`);
  // Temporaries of killed saves: a dead process's are removed, a live one's (ours here) are left alone.
  const staleTmp = `${out}.${deadPid}.1700000000000.tmp`;
  const liveTmp = `${out}.${process.pid}.1700000000000.tmp`;
  const staleReportTmp = `${path.join(dir, "kept.report.html")}.${deadPid}.1700000000000.0.tmp`; // killed while writing the report
  writeFileSync(staleTmp, "half a model");
  writeFileSync(liveTmp, "being written");
  writeFileSync(staleReportTmp, "<html");
  const took = cli([...base, "--out", out, "--overwrite", "--seed", "2"]);
  assert.equal(took.code, 0, took.stderr);
  assert.match(took.stderr, /removed 2 temporary files left by an interrupted run: kept\.safetensors\.\d+\.\d+\.tmp, kept\.report\.html\./);
  assert.ok(!existsSync(staleTmp));
  assert.ok(!existsSync(staleReportTmp));
  assert.ok(existsSync(liveTmp));
  assert.ok(!existsSync(`${out}.lock`), "the lock is released");
  assert.ok(!readFileSync(out).equals(before), "--overwrite replaced the model");
});

test("--log: a new run's log holds its own epochs; another run's log is kept unless --overwrite", () => {
  const base = ["train", "--train", smallTrain, "--embeddings", glove, "--hidden", "8", "--no-progress", "--no-report"];
  const log = path.join(dir, "own.log");
  assert.equal(cli([...base, "--epochs", "2", "--out", path.join(dir, "own1.safetensors"), "--log", log]).code, 0);
  const first = readFileSync(log, "utf8");
  assert.equal(losses(log).length, 2);
  const refused = cli([...base, "--epochs", "1", "--out", path.join(dir, "own2.safetensors"), "--log", log]);
  assert.equal(refused.code, 1);
  assert.equal(refused.stderr, `lstm-ner: error: ${log}: --log exists (from another run): pass --overwrite to replace it, or choose another --log\n`);
  assert.equal(readFileSync(log, "utf8"), first, "the old log is untouched");
  assert.ok(!existsSync(path.join(dir, "own2.safetensors")));
  const replaced = cli([...base, "--epochs", "1", "--out", path.join(dir, "own2.safetensors"), "--log", log, "--overwrite"]);
  assert.equal(replaced.code, 0, replaced.stderr);
  assert.equal(losses(log).length, 1, "only the new run's epoch");
});

test("--log: a run killed before its first epoch ends leaves an old log (--overwrite) untouched and creates no empty one", async () => {
  const base = ["train", "--train", trainFile, "--embeddings", glove, "--hidden", "64", "--epochs", "1", "--no-progress", "--no-report", "--overwrite"];
  const old = path.join(dir, "old.log");
  writeFileSync(old, '{"epoch":1,"loss":1}\n');
  const fresh = path.join(dir, "fresh.log");
  for (const log of [old, fresh]) {
    // Killed as soon as the model is built: well inside epoch 1 (1,500 sentences at hidden 64).
    const r = await run([...base, "--out", path.join(dir, "early.safetensors"), "--log", log], (child, stderr) => {
      const poll = setInterval(() => {
        if (/^model: /m.test(stderr())) {
          clearInterval(poll);
          child.kill("SIGKILL");
        }
      }, 5);
    });
    assert.equal(r.signal, "SIGKILL", r.stderr);
  }
  assert.equal(readFileSync(old, "utf8"), '{"epoch":1,"loss":1}\n', "the old log is untouched");
  assert.ok(!existsSync(fresh), "no empty log left behind");
});

test("a write failure names the file, says nothing was saved, and leaves the old model and no temporary file", () => {
  const out = path.join(dir, "full.safetensors");
  const base = ["train", "--train", smallTrain, "--embeddings", glove, "--hidden", "8", "--epochs", "1", "--no-progress", "--out", out];
  assert.equal(cli(base).code, 0);
  const before = readFileSync(out);
  // A file-size limit of 4 KiB: the model (≈ 14 KB) cannot be written (EFBIG), as on a full disk (ENOSPC).
  const r = cli([...base, "--overwrite"], "ulimit -f 4");
  assert.equal(r.code, 1);
  // The checkpoint is the first file an epoch writes (the model and the log follow it).
  assert.match(r.stderr, new RegExp(`lstm-ner: error: ${out.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\.checkpoint: cannot write file \\(EFBIG: file too large\\)\n$`));
  assert.doesNotMatch(r.stderr, /saved/);
  assert.ok(readFileSync(out).equals(before), "the old model is intact");
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith("full.") && f.endsWith(".tmp")), []);
  assert.ok(!existsSync(`${out}.lock`));
});

test("two trainings started at once with the same --out: one runs, the other is refused at once", async () => {
  const out = path.join(dir, "race.safetensors");
  const args = ["train", "--train", trainFile, "--embeddings", glove, "--hidden", "16", "--epochs", "6", "--no-progress", "--out", out];
  const [a, b] = await Promise.all([run(args), run(args)]);
  const codes = [a.code, b.code].sort();
  assert.deepEqual(codes, [0, 1], `${a.stderr}\n${b.stderr}`);
  const loser = a.code === 1 ? a : b;
  assert.match(loser.stderr, /^lstm-ner: error: .*race\.safetensors\.lock: --out .*race\.safetensors is in use by another lstm-ner process \(pid \d+\)/);
  assert.doesNotMatch(loser.stderr, /loading|train:/, "refused before loading anything");
  assert.ok(!existsSync(`${out}.lock`));
});

// A short run with dev, for the kills at exact writes below (crash-at.ts): the uninterrupted reference first.
const exact = ["train", "--train", smallTrain, "--dev", devFile, "--embeddings", glove, "--hidden", "8", "--epochs", "3", "--seed", "4", "--no-progress"];
let exactWhole: { out: string; log: string } | undefined;
function exactReference(): { out: string; log: string } {
  if (exactWhole) return exactWhole;
  const out = path.join(dir, "exact-whole.safetensors");
  const log = path.join(dir, "exact-whole.log");
  const r = runCli([...exact, "--out", out, "--log", log]);
  assert.equal(r.code, 0, r.stderr);
  return (exactWhole = { out, log });
}

test("killed just after an epoch's log line: --resume continues (the checkpoint was written first) and, without --log, keeps the run's log", () => {
  const whole = exactReference();
  const out = path.join(dir, "logkill.safetensors");
  const log = path.join(dir, "logkill.log");
  const killed = runCli([...exact, "--out", out, "--log", log], crashAt(log, "after-write", 1));
  assert.equal(killed.code, -1, killed.stderr);
  assert.equal(losses(log).length, 1);
  const resumed = runCli(["train", "--resume", "--out", out, "--no-progress"]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, /resuming from .*: epoch 2 \(1 epoch done\)/);
  assert.deepEqual(losses(log), losses(whole.log), "the log goes on where it was, as in the uninterrupted run");
  assert.ok(readFileSync(out).equals(readFileSync(whole.out)), "model files differ");
});

test("killed after the last checkpoint, model file deleted: --resume writes the model from the checkpoint's best weights before removing it", () => {
  const whole = exactReference();
  const out = path.join(dir, "lastkill.safetensors");
  const log = path.join(dir, "lastkill.log");
  const killed = runCli([...exact, "--out", out, "--log", log], crashAt(`${out}.checkpoint`, "after-write", 3));
  assert.equal(killed.code, -1, killed.stderr);
  rmSync(out, { force: true });
  const resumed = runCli(["train", "--resume", "--out", out, "--no-progress"]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, /model written to /);
  assert.ok(existsSync(out), "\"model written\" and there is a model file");
  assert.ok(readFileSync(out).equals(readFileSync(whole.out)), "the best epoch's model, as the uninterrupted run wrote it");
  assert.ok(!existsSync(`${out}.checkpoint`));
  assert.deepEqual(losses(log), losses(whole.log));
});

test("--log may not name a file the run itself writes: its checkpoint, its lock, its report", () => {
  const out = path.join(dir, "own.safetensors");
  for (const [log, what] of [[`${out}.checkpoint`, "checkpoint"], [`${out}.lock`, "lock"], [path.join(dir, "own.report.html"), "--report"]]) {
    const r = runCli([...exact, "--out", out, "--log", log]);
    assert.equal(r.code, 1, log);
    assert.equal(r.stderr, `lstm-ner: error: ${log}: --log is the ${what} file, which would be overwritten; write to another file\n`);
  }
  const r = runCli([...exact, "--out", out, "--report", `${out}.checkpoint`]);
  assert.equal(r.stderr, `lstm-ner: error: ${out}.checkpoint: --report is the checkpoint file, which would be overwritten; write to another file\n`);
  assert.ok(!existsSync(out) && !existsSync(`${out}.checkpoint`));
});
