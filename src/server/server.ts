/**
 * The tagging service: `POST /ner`, `GET /health` and a web page at `/`,
 * on Node's `http` module. This thread only does HTTP; tagging runs in a
 * worker thread ({@link Tagger}), so `/health` answers while big requests are
 * tagged. Every bad request gets a JSON error with a 4xx status (503 when
 * the queue is full) and the server goes on serving.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import type { AddressInfo, Socket } from "node:net";
import { encodeModel } from "../model/format.js";
import { NerModel } from "../model/ner.js";
import { LstmNerError } from "../util/errors.js";
import { VERSION } from "../version.js";
import { ClientConnections, clientOf } from "./clients.js";
import { hostCheck, hostName, type HostCheck } from "./host.js";
import { resolveLimits, tokenBounds, type ServerLimits } from "./limits.js";
import { PAGE_HTML } from "./page.js";
import type { SchedulerStats } from "./schedule.js";
import { Tagger } from "./tagger.js";
import { trainPageRoutes } from "../web/routes.js";

export type { ServerLimits } from "./limits.js";

/** Options of {@link startServer}: the limits, plus how to run and what to show. */
export interface ServerOptions extends Partial<ServerLimits> {
  /** TCP port (default 8080; 0 picks a free one). */
  port?: number;
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
  /** More names the `Host` header may give (e.g. a reverse proxy's public name); see {@link hostCheck}. */
  allowedHosts?: readonly string[];
  /** Shown by `GET /health` (default: the model file's name). */
  modelName?: string;
  /** `/health` also shows the model's scheme, architecture, training recipe (with its file paths), the limits and queue counters. */
  healthDetails?: boolean;
  /** Kernels of the tagging thread (default "auto"). */
  kernels?: "auto" | "wasm" | "reference";
  /** Compute threads of the tagging thread's kernels (1 or 2; default: the machine's, at most 2). */
  threads?: number;
  /** Tag with the quantized model (`NerModel.quantize`; default false); `/health` details say so. */
  quantize?: boolean;
  /**
   * Heap limit of the tagging thread in MB (default: Node's). The weights are
   * outside it; a thread that goes over is stopped, its requests get 500 and
   * a new one is started.
   */
  tagHeapMb?: number;
}

/** A running server: its URL, the tagger's counters, and a way to stop it. */
export interface RunningServer {
  server: Server;
  url: string;
  /** The tagging thread's counters (queue, passes, tokens tagged, refused, cancelled). */
  stats(): Promise<SchedulerStats>;
  /** Stop at once: open connections are closed, requests in progress get nothing or 503. */
  close(): Promise<void>;
  /**
   * Stop gracefully: stop accepting connections, answer new requests on open
   * ones with 503, finish the requests in progress (for at most `timeoutMs`),
   * then close. Resolves with the number of requests cut off by the timeout.
   */
  drain(timeoutMs: number): Promise<number>;
}

/** Seconds a client is asked to wait after a 503. */
const RETRY_AFTER_S = 1;

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

/**
 * Start the tagging thread with the model, then serve on `host:port`.
 * @throws LstmNerError for a bad option (naming it), a model that cannot be
 * loaded, or an address that cannot be bound.
 */
export async function startServer(model: string | Uint8Array | NerModel, o: ServerOptions = {}): Promise<RunningServer> {
  const limits = resolveLimits(o);
  const port = o.port ?? 8080;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new LstmNerError(`port must be an integer from 0 to 65535, got ${port}`);
  const host = o.host ?? "127.0.0.1";
  if (host.trim() === "") throw new LstmNerError("host is empty");
  if (o.threads !== undefined && o.threads !== 1 && o.threads !== 2) throw new LstmNerError(`threads must be 1 or 2, got ${o.threads}`);
  if (o.tagHeapMb !== undefined && (!Number.isInteger(o.tagHeapMb) || o.tagHeapMb < 16)) throw new LstmNerError(`tagHeapMb must be an integer of at least 16, got ${o.tagHeapMb}`);
  const hosts = hostCheck(host, o.allowedHosts);
  const source = model instanceof NerModel ? Buffer.concat(encodeModel(model.toSaved(model.training))) : model;
  const name = o.modelName ?? (typeof source === "string" ? path.basename(source) : "model");
  const tagger = await Tagger.start({
    model: source, name, kernels: o.kernels ?? "auto", ...(o.threads === undefined ? {} : { threads: o.threads }),
    ...(o.tagHeapMb === undefined ? {} : { heapMb: o.tagHeapMb }), ...(o.quantize === true ? { quantize: true } : {}),
    limits: { maxTokens: limits.maxTokens, batchTokens: limits.batchTokens },
  });
  const { server, inFlight } = createNerServer(tagger, limits, hosts, { name, details: o.healthDetails === true ? { file: typeof source === "string" ? path.resolve(source) : null } : null });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", (e: NodeJS.ErrnoException) => reject(new LstmNerError(`cannot listen on ${host}:${port} (${e.code ?? e.message})`)));
      server.listen(port, host, () => resolve());
    });
  } catch (e) {
    await tagger.close();
    throw e;
  }
  const addr = server.address() as AddressInfo;
  const shown = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => closing ??= (async () => {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    await tagger.close();
  })();
  return {
    server,
    url: `http://${shown}:${addr.port}`,
    stats: () => tagger.stats(),
    close,
    drain: async (timeoutMs) => {
      if (!Number.isFinite(timeoutMs) || timeoutMs < 0) throw new LstmNerError(`drain timeout must be a number of ms of at least 0, got ${timeoutMs}`);
      inFlight.drain();
      server.close(); // no new connections; Node also closes the idle keep-alive ones
      server.closeIdleConnections();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([inFlight.idle(), new Promise<void>((resolve) => { timer = setTimeout(resolve, timeoutMs); })]);
      clearTimeout(timer);
      const cut = inFlight.count;
      await close();
      return cut;
    },
  };
}

/** The requests being handled, for draining. */
interface InFlight {
  readonly draining: boolean;
  /** From now on new requests get 503, and those in progress close their connection after answering. */
  drain(): void;
  readonly count: number;
  /** Resolves when no request is in progress. */
  idle(): Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

/** The HTTP server over a started tagger (not yet listening), and its requests in progress. */
function createNerServer(tagger: Tagger, limits: ServerLimits, hosts: HostCheck, show: { name: string; details: { file: string | null } | null }): { server: Server; inFlight: InFlight } {
  const displacyJs = displacySource();
  const { info } = tagger;
  const model = { name: show.name, version: info.version, labels: info.labels, sizes: info.sizes };
  const health = async (): Promise<unknown> => {
    const down = tagger.unavailable;
    const status = down === null ? "ok" : "unavailable";
    const base = { status, ...(down === null ? {} : { error: down }), version: VERSION, model };
    if (show.details === null) return base;
    return { ...base, model: { ...model, file: show.details.file, ...info.details }, limits, queue: down === null ? await tagger.stats() : null };
  };

  const routes: Record<string, Partial<Record<string, Handler>>> = {
    "/": { GET: (_q, res) => send(res, 200, PAGE_HTML, "text/html; charset=utf-8") },
    "/displacy.js": { GET: (_q, res) => send(res, 200, displacyJs, "text/javascript; charset=utf-8") },
    "/health": { GET: async (_q, res) => sendJson(res, tagger.unavailable === null ? 200 : 503, await health()) },
    ...trainPageRoutes(), // the browser training page at /train/ (src/web/routes.ts)
    "/ner": {
      POST: async (req, res) => {
        checkContentType(req.headers["content-type"]);
        // Refuse before reading the body when nothing could take the request anyway.
        checkRoom(tagger, limits);
        const body = parseBody(await readBody(req, limits.maxBodyBytes));
        const texts = body.kind === "one" ? [body.text] : body.texts;
        if (texts.length > limits.maxTexts) throw new HttpError(413, `too many texts: ${texts.length} (the limit per request is maxTexts=${limits.maxTexts})`);
        let lower = 0;
        for (const t of texts) {
          lower += tokenBounds(t, limits.maxTokens - lower).lower;
          if (lower > limits.maxTokens) break;
        }
        if (lower > limits.maxTokens) {
          throw new HttpError(413, `too many tokens: more than ${limits.maxTokens} (the limit per request is maxTokens=${limits.maxTokens})`);
        }
        checkRoom(tagger, limits);
        if (res.destroyed) return; // the client left while its body was checked
        const job = tagger.tag(texts, body.kind === "many", clientOf(req.socket));
        // A client that goes away takes its work with it.
        res.once("close", () => {
          if (!res.writableFinished) job.cancel();
        });
        const outcome = await job.result;
        if (res.destroyed) return;
        if ("error" in outcome) throw new HttpError(outcome.status, outcome.error);
        send(res, 200, outcome.body, "application/json; charset=utf-8");
      },
    },
  };

  const active = new Set<ServerResponse>();
  const idleWaiters: (() => void)[] = [];
  const refused = new WeakSet<Socket>();
  let draining = false;
  const inFlight: InFlight = {
    get draining() {
      return draining;
    },
    drain() {
      draining = true;
      for (const res of active) if (!res.headersSent) res.setHeader("Connection", "close");
    },
    get count() {
      return active.size;
    },
    idle: () => active.size === 0 ? Promise.resolve() : new Promise((resolve) => idleWaiters.push(resolve)),
  };

  const server = createServer({
    requestTimeout: limits.requestTimeoutMs,
    headersTimeout: limits.headersTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // How often Node looks for timed-out requests; its default (30 s) would make short timeouts late.
    connectionsCheckingInterval: Math.max(50, Math.min(limits.headersTimeoutMs / 4, 30_000)),
  }, async (req, res) => {
    if (refused.has(req.socket)) {
      res.destroy(); // already answered 429 on this connection
      return;
    }
    active.add(res);
    res.once("close", () => {
      active.delete(res);
      if (active.size === 0) for (const w of idleWaiters.splice(0)) w();
    });
    try {
      if (inFlight.draining) {
        res.setHeader("Connection", "close");
        throw new HttpError(503, `the server is shutting down; retry in ${RETRY_AFTER_S} s`, { "Retry-After": String(RETRY_AFTER_S) });
      }
      const host = req.headers.host;
      if (!hosts.test(host)) {
        throw new HttpError(403, `host ${JSON.stringify(hostName(host ?? ""))} is not allowed (this server answers to: ${hosts.allowed.join(", ")})`);
      }
      const url = new URL(req.url ?? "/", "http://localhost");
      const route = routes[url.pathname];
      if (route === undefined) throw new HttpError(404, `no such route: ${url.pathname}`);
      const allowed = Object.keys(route).concat(route.GET ? ["HEAD"] : []);
      const handler = route[req.method ?? ""] ?? (req.method === "HEAD" ? route.GET : undefined);
      if (handler === undefined) throw new HttpError(405, `method ${req.method} not allowed on ${url.pathname} (allowed: ${allowed.join(", ")})`, { Allow: allowed.join(", ") });
      await handler(req, res);
    } catch (e) {
      if (res.headersSent || res.destroyed) {
        res.destroy();
        return;
      }
      const err = e instanceof HttpError ? e : e instanceof LstmNerError ? new HttpError(400, e.message) : new HttpError(500, "internal error while tagging");
      for (const [k, v] of Object.entries(err.headers)) res.setHeader(k, v);
      // After a refused or unread body, close the connection rather than read the rest.
      if (err.status === 413 || !req.complete) res.setHeader("Connection", "close");
      sendJson(res, err.status, { error: err.message });
    }
  });
  server.maxConnections = limits.maxConnections;
  const perClient = new ClientConnections(limits.maxConnectionsPerClient);
  server.on("connection", (socket: Socket) => {
    if (perClient.admit(socket)) return;
    refused.add(socket);
    const body = JSON.stringify({
      error: `too many connections from ${clientOf(socket)}: ${perClient.max} are open (the limit per client is maxConnectionsPerClient=${perClient.max}); retry in ${RETRY_AFTER_S} s`,
    });
    socket.on("error", () => undefined);
    // Closed as soon as the answer is sent: a refused connection must not hold a slot of maxConnections.
    socket.end(`HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `Retry-After: ${RETRY_AFTER_S}\r\nConnection: close\r\n\r\n${body}`, () => socket.destroy());
  });
  return { server, inFlight };
}

/** 503 when the tagging queue is full or the tagging thread is down. */
function checkRoom(tagger: Tagger, limits: ServerLimits): void {
  const down = tagger.unavailable;
  if (down !== null || tagger.queued >= limits.maxQueue) {
    const why = down ?? `the tagging queue is full (${limits.maxQueue} requests; the limit is maxQueue=${limits.maxQueue})`;
    throw new HttpError(503, `${why}; retry in ${RETRY_AFTER_S} s`, { "Retry-After": String(RETRY_AFTER_S) });
  }
}

/**
 * POST bodies must be declared JSON: a web page on another site can make a
 * browser post a "simple" request (text/plain, forms) without asking first,
 * but not an application/json one.
 */
function checkContentType(header: string | undefined): void {
  const [type, ...params] = (header ?? "").split(";").map((s) => s.trim().toLowerCase());
  const charset = params.find((p) => p.startsWith("charset="))?.slice(8).replace(/"/g, "");
  if (type !== "application/json" || (charset !== undefined && charset !== "utf-8")) {
    throw new HttpError(415, `Content-Type must be application/json (UTF-8), got ${header === undefined ? "none" : JSON.stringify(header)}`, { "Accept-Post": "application/json" });
  }
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
    return Promise.reject(new HttpError(413, `request body too large: ${declared} bytes (the limit is maxBodyBytes=${max})`));
  }
  return new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > max) {
        req.off("data", onData);
        req.resume();
        reject(new HttpError(413, `request body too large (the limit is maxBodyBytes=${max})`));
        return;
      }
      chunks.push(chunk);
    };
    req.on("data", onData);
    req.once("error", () => reject(new HttpError(400, "request aborted")));
    req.once("close", () => {
      if (!req.complete) reject(new HttpError(400, "request aborted"));
    });
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
