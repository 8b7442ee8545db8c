/**
 * The tagging service: `POST /ner`, `GET /health` and a web page at `/`,
 * on Node's `http` module. Every bad request gets a JSON error with a 4xx
 * status and the server goes on serving.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import type { Nlp } from "../pipeline/nlp.js";
import type { Doc } from "../pipeline/doc.js";
import { LstmNerError } from "../util/errors.js";
import { Batcher } from "./batcher.js";
import { PAGE_HTML } from "./page.js";

/** Options of {@link createNerServer}. */
export interface ServerOptions {
  /** Largest request body in bytes (default 1 MiB); larger ones get 413. */
  maxBodyBytes?: number;
  /** Most texts in one `{"texts": [...]}` request (default 1000). */
  maxTexts?: number;
  /** Most texts tagged in one network pass; bigger requests are cut into passes with other requests in between (default 32). */
  batchTexts?: number;
  /** Time to receive a whole request, in ms (default 30 s); slower clients get 408. */
  requestTimeoutMs?: number;
  /** Time an idle connection is kept, in ms (default 5 s). */
  keepAliveTimeoutMs?: number;
  /** Shown by `GET /health` (e.g. the model file name). */
  modelName?: string;
}

/** An error the client caused: its status and message go back as JSON. */
class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}

/** The compiled displacy module, served to the page so it renders exactly as the library does. */
function displacySource(): string {
  return readFileSync(new URL("../pipeline/displacy.js", import.meta.url), "utf8");
}

/** The HTTP server over a loaded pipeline (not yet listening). */
export function createNerServer(nlp: Nlp, opts: ServerOptions = {}): Server {
  const maxBody = opts.maxBodyBytes ?? 1 << 20;
  const maxTexts = opts.maxTexts ?? 1000;
  const batcher = new Batcher<Doc>((texts) => nlp.batch(texts), opts.batchTexts ?? 32);
  const displacyJs = displacySource();
  const m = nlp.model;
  const health = {
    status: "ok",
    model: {
      ...(opts.modelName === undefined ? {} : { name: opts.modelName }),
      labels: m.labels, scheme: m.scheme, arch: m.config.arch, hidden: m.config.hidden, bidirectional: m.config.bidirectional,
      vocabulary: m.words.length, training: m.training,
    },
  };

  const routes: Record<string, Partial<Record<string, (req: IncomingMessage, res: ServerResponse) => Promise<void> | void>>> = {
    "/": { GET: (_q, res) => send(res, 200, PAGE_HTML, "text/html; charset=utf-8") },
    "/displacy.js": { GET: (_q, res) => send(res, 200, displacyJs, "text/javascript; charset=utf-8") },
    "/health": { GET: (_q, res) => sendJson(res, 200, health) },
    "/ner": {
      POST: async (req, res) => {
        const body = parseBody(await readBody(req, maxBody));
        if (body.kind === "one") {
          const [doc] = await batcher.submit([body.text]);
          sendJson(res, 200, doc);
        } else {
          if (body.texts.length > maxTexts) throw new HttpError(413, `too many texts: ${body.texts.length} (at most ${maxTexts} per request)`);
          sendJson(res, 200, { docs: await batcher.submit(body.texts) });
        }
      },
    },
  };

  const requestTimeout = opts.requestTimeoutMs ?? 30_000;
  const server = createServer({
    requestTimeout,
    headersTimeout: Math.min(requestTimeout, 30_000),
    keepAliveTimeout: opts.keepAliveTimeoutMs ?? 5_000,
    // How often Node looks for timed-out requests; its default (30 s) would make short timeouts late.
    connectionsCheckingInterval: Math.max(50, Math.min(requestTimeout / 4, 30_000)),
  }, async (req, res) => {
    try {
      const url = new URL(req.url ?? "/", "http://localhost");
      const route = routes[url.pathname];
      if (route === undefined) throw new HttpError(404, `no such route: ${url.pathname}`);
      const allowed = Object.keys(route).concat(route.GET ? ["HEAD"] : []);
      const handler = route[req.method ?? ""] ?? (req.method === "HEAD" ? route.GET : undefined);
      if (handler === undefined) throw new HttpError(405, `method ${req.method} not allowed on ${url.pathname} (allowed: ${allowed.join(", ")})`, { Allow: allowed.join(", ") });
      await handler(req, res);
    } catch (e) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const err = e instanceof HttpError ? e : e instanceof LstmNerError ? new HttpError(400, e.message) : new HttpError(500, "internal error while tagging");
      for (const [k, v] of Object.entries(err.headers)) res.setHeader(k, v);
      // After an oversized or unread body, close the connection rather than read the rest.
      if (err.status === 413 || !req.complete) res.setHeader("Connection", "close");
      sendJson(res, err.status, { error: err.message });
    }
  });
  return server;
}

/** A running server: its URL and a way to stop it. */
export interface RunningServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

/**
 * Start serving on `host:port` (port 0 picks a free one).
 * @throws LstmNerError when the address cannot be bound.
 */
export async function startServer(nlp: Nlp, o: ServerOptions & { port?: number; host?: string } = {}): Promise<RunningServer> {
  const server = createNerServer(nlp, o);
  const host = o.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) => reject(new LstmNerError(`cannot listen on ${host}:${o.port ?? 8080} (${e.code ?? e.message})`)));
    server.listen(o.port ?? 8080, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const shown = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  return {
    server,
    url: `http://${shown}:${addr.port}`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

function send(res: ServerResponse, status: number, body: string, type: string): void {
  res.writeHead(status, { "Content-Type": type, "Content-Length": Buffer.byteLength(body), "X-Content-Type-Options": "nosniff" });
  res.end(res.req.method === "HEAD" ? undefined : body);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, JSON.stringify(value), "application/json; charset=utf-8");
}

/**
 * The request body as text, refusing more than `max` bytes (413) as soon as
 * that is known. The rest of an oversized body is read and dropped (the
 * connection closes after the reply), so the client sees the 413.
 */
function readBody(req: IncomingMessage, max: number): Promise<string> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > max) {
    req.resume();
    return Promise.reject(new HttpError(413, `request body too large: ${declared} bytes (at most ${max})`));
  }
  return new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > max) {
        req.off("data", onData);
        req.resume();
        reject(new HttpError(413, `request body too large (at most ${max} bytes)`));
        return;
      }
      chunks.push(chunk);
    };
    req.on("data", onData);
    req.once("error", () => reject(new HttpError(400, "request aborted")));
    req.once("end", () => {
      if (size > max) return;
      try {
        resolve(new TextDecoder("utf-8", { fatal: true }).decode(Buffer.concat(chunks)));
      } catch {
        reject(new HttpError(400, "request body is not valid UTF-8"));
      }
    });
  });
}

type Body = { kind: "one"; text: string } | { kind: "many"; texts: string[] };

/** Validate `{"text": "..."}` or `{"texts": ["...", ...]}`. */
function parseBody(raw: string): Body {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (e) {
    throw new HttpError(400, `request body is not valid JSON (${(e as Error).message})`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new HttpError(400, 'request body must be a JSON object: {"text": "..."} or {"texts": ["...", ...]}');
  const o = v as Record<string, unknown>;
  if ("text" in o && "texts" in o) throw new HttpError(400, 'give either "text" or "texts", not both');
  if ("text" in o) return { kind: "one", text: checkText(o.text, "text") };
  if ("texts" in o) {
    if (!Array.isArray(o.texts)) throw new HttpError(400, `"texts" must be an array of strings, got ${typeName(o.texts)}`);
    if (o.texts.length === 0) throw new HttpError(400, '"texts" is empty');
    return { kind: "many", texts: o.texts.map((t, i) => checkText(t, `texts[${i}]`)) };
  }
  throw new HttpError(400, 'missing field "text" (or "texts")');
}

function checkText(v: unknown, field: string): string {
  if (typeof v !== "string") throw new HttpError(400, `"${field}" must be a string, got ${typeName(v)}`);
  if (v.trim() === "") throw new HttpError(400, `"${field}" is empty`);
  return v;
}

function typeName(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "an array" : typeof v;
}
