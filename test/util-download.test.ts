import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { cacheDir } from "../src/util/cache.js";
import { download, DownloadError } from "../src/util/download.js";
import { LstmNerError } from "../src/util/errors.js";

const BODY = Buffer.from("x".repeat(100_000) + "end\n");
const SHA = createHash("sha256").update(BODY).digest("hex");

/** A local server: /file serves BODY, /moved redirects to it, /drop dies mid-body, /stall stops sending, /chunked-drop has no length. */
async function serve(): Promise<{ url: string; hits: string[]; close: () => Promise<void> }> {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(req.url ?? "");
    switch (req.url) {
      case "/file":
        res.writeHead(200, { "content-length": BODY.length });
        res.end(BODY);
        return;
      case "/moved":
        res.writeHead(302, { location: "/file" });
        res.end();
        return;
      case "/drop":
        res.writeHead(200, { "content-length": BODY.length });
        res.write(BODY.subarray(0, 5000), () => setTimeout(() => res.socket?.destroy(), 20));
        return;
      case "/chunked-drop":
        res.writeHead(200);
        res.write(BODY.subarray(0, 5000), () => setTimeout(() => res.socket?.destroy(), 20));
        return;
      case "/stall":
        res.writeHead(200, { "content-length": BODY.length });
        res.write(BODY.subarray(0, 10));
        return;
      default:
        res.writeHead(404, { "content-type": "text/plain" });
        res.end("not here");
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function withTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "lstm-ner-dl-"));
  try {
    await fn(dir);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

test("downloads once (verified, with progress); a second call makes no request", async () => {
  const srv = await serve();
  try {
    await withTemp(async (dir) => {
      const dest = path.join(dir, "a", "b", "file.bin");
      const progress: [number, number | undefined][] = [];
      const got = await download(`${srv.url}/file`, dest, { sha256: SHA.toUpperCase(), onProgress: (r, t) => progress.push([r, t]) });
      assert.equal(got, dest);
      assert.deepEqual(await fs.readFile(dest), BODY);
      assert.deepEqual(progress[progress.length - 1], [BODY.length, BODY.length]);
      assert.deepEqual(await fs.readdir(path.dirname(dest)), ["file.bin"], "no .part file left behind");
      assert.equal(srv.hits.length, 1);
      await download(`${srv.url}/file`, dest, { sha256: SHA });
      assert.equal(srv.hits.length, 1);
    });
  } finally {
    await srv.close();
  }
});

test("concurrent calls for one destination share a single request", async () => {
  const srv = await serve();
  try {
    await withTemp(async (dir) => {
      const dest = path.join(dir, "file.bin");
      const [a, b] = await Promise.all([download(`${srv.url}/file`, dest), download(`${srv.url}/file`, dest)]);
      assert.equal(a, dest);
      assert.equal(b, dest);
      assert.equal(srv.hits.length, 1);
    });
  } finally {
    await srv.close();
  }
});

test("follows redirects", async () => {
  const srv = await serve();
  try {
    await withTemp(async (dir) => {
      const dest = path.join(dir, "file.bin");
      await download(`${srv.url}/moved`, dest, { sha256: SHA });
      assert.deepEqual(await fs.readFile(dest), BODY);
      assert.deepEqual(srv.hits, ["/moved", "/file"]);
    });
  } finally {
    await srv.close();
  }
});

test("checksum mismatch leaves no file and names url and both hashes", async () => {
  const srv = await serve();
  try {
    await withTemp(async (dir) => {
      const dest = path.join(dir, "file.bin");
      const wrong = "0".repeat(64);
      await assert.rejects(download(`${srv.url}/file`, dest, { sha256: wrong }), (err: unknown) => {
        assert.ok(err instanceof LstmNerError);
        assert.ok(err.message.includes(`${srv.url}/file`));
        assert.ok(err.message.includes(wrong));
        assert.ok(err.message.includes(SHA));
        return true;
      });
      assert.deepEqual(await fs.readdir(dir), []);
    });
  } finally {
    await srv.close();
  }
});

test("404 gives a clear error and no file", async () => {
  const srv = await serve();
  try {
    await withTemp(async (dir) => {
      const dest = path.join(dir, "file.bin");
      await assert.rejects(download(`${srv.url}/missing`, dest), (err: unknown) => {
        assert.ok(err instanceof DownloadError);
        assert.equal(err.message, `could not fetch ${srv.url}/missing: HTTP 404 Not Found`);
        return true;
      });
      assert.deepEqual(await fs.readdir(dir), []);
    });
  } finally {
    await srv.close();
  }
});

test("a connection dropped mid-body leaves no file (with and without Content-Length)", async () => {
  const srv = await serve();
  try {
    await withTemp(async (dir) => {
      for (const route of ["/drop", "/chunked-drop"]) {
        const dest = path.join(dir, "file.bin");
        await assert.rejects(download(`${srv.url}${route}`, dest), (err: unknown) => {
          assert.ok(err instanceof DownloadError, String(err));
          assert.match(err.message, new RegExp(`could not fetch ${srv.url}${route}: `));
          return true;
        });
        assert.deepEqual(await fs.readdir(dir), [], route);
      }
    });
  } finally {
    await srv.close();
  }
});

test("a stalled server times out and leaves no file", async () => {
  const srv = await serve();
  try {
    await withTemp(async (dir) => {
      const dest = path.join(dir, "file.bin");
      await assert.rejects(download(`${srv.url}/stall`, dest, { timeoutMs: 200 }), /timed out: no data for 200 ms/);
      assert.deepEqual(await fs.readdir(dir), []);
    });
  } finally {
    await srv.close();
  }
});

test("unreachable server: error says the URL could not be fetched and keeps the cause", async () => {
  // Grab a free port, then close it so nothing listens there.
  const srv = await serve();
  const url = `${srv.url}/file`;
  await srv.close();
  await withTemp(async (dir) => {
    await assert.rejects(download(url, path.join(dir, "f")), (err: unknown) => {
      assert.ok(err instanceof LstmNerError);
      assert.match(err.message, new RegExp(`^could not fetch ${url}: .*ECONNREFUSED`));
      assert.ok(err.cause !== undefined);
      return true;
    });
    assert.deepEqual(await fs.readdir(dir), []);
  });
});

test("an existing destination is returned without fetching", async () => {
  await withTemp(async (dir) => {
    const dest = path.join(dir, "f");
    await fs.writeFile(dest, "already here");
    let calls = 0;
    const fakeFetch: typeof fetch = async () => {
      calls++;
      throw new Error("should not be called");
    };
    assert.equal(await download("http://127.0.0.1:9/f", dest, { fetch: fakeFetch }), dest);
    assert.equal(calls, 0);
  });
});

test("cacheDir: LSTM_NER_HOME, XDG, home fallbacks per platform", () => {
  assert.equal(cacheDir({ LSTM_NER_HOME: "/x/y" }, "linux"), "/x/y");
  assert.equal(cacheDir({ XDG_CACHE_HOME: "/xdg", HOME: "/home/u" }, "linux"), "/xdg/lstm-ner");
  assert.equal(cacheDir({ XDG_CACHE_HOME: "relative", HOME: "/home/u" }, "linux"), "/home/u/.cache/lstm-ner");
  assert.equal(cacheDir({ HOME: "/home/u" }, "linux"), "/home/u/.cache/lstm-ner");
  assert.equal(cacheDir({ HOME: "/Users/u" }, "darwin"), "/Users/u/Library/Caches/lstm-ner");
  assert.equal(cacheDir({ LOCALAPPDATA: "C:\\Users\\u\\AppData\\Local" }, "win32"), "C:\\Users\\u\\AppData\\Local\\lstm-ner\\Cache");
});
