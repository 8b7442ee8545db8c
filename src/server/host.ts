/**
 * The `Host` header check against DNS rebinding: a web page on another site
 * can make a browser send requests to 127.0.0.1 under a name the attacker
 * controls, but the browser then sends that name as `Host`. Only names this
 * server is known by are answered.
 */
import { isIP } from "node:net";
import { LstmNerError } from "../util/errors.js";

/** Decides whether a `Host` header names this server. */
export interface HostCheck {
  /** The names accepted, for error messages. */
  readonly allowed: readonly string[];
  /** Whether the header (e.g. `localhost:8080`, `[::1]:80`) is allowed; a request without one (HTTP/1.0) is. */
  test(host: string | undefined): boolean;
}

const LOOPBACK_NAMES = ["localhost", "127.0.0.1", "::1"];

/** Host name of a `Host` header, lower case, without port, brackets or a trailing dot. */
export function hostName(header: string): string {
  let h = header.trim().toLowerCase();
  if (h.startsWith("[")) {
    const end = h.indexOf("]");
    h = end < 0 ? h : h.slice(1, end);
  } else {
    const colon = h.lastIndexOf(":");
    if (colon >= 0 && h.indexOf(":") === colon) h = h.slice(0, colon);
  }
  return h.endsWith(".") ? h.slice(0, -1) : h;
}

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || (isIP(host) === 4 && host.startsWith("127."));
}

/**
 * The check for a server bound to `bound`: the bound name or address; the
 * loopback names when bound to loopback; any IP address or `localhost` when
 * bound to all interfaces (0.0.0.0 or ::), since a page cannot make a browser
 * send an address it does not resolve itself; plus `extra` names.
 * @throws LstmNerError for an empty or malformed extra name.
 */
export function hostCheck(bound: string, extra: readonly string[] = []): HostCheck {
  const names = new Set<string>([hostName(bound)]);
  const b = hostName(bound);
  const wildcard = b === "0.0.0.0" || b === "::";
  if (isLoopback(b) || wildcard) LOOPBACK_NAMES.forEach((n) => names.add(n));
  for (const e of extra) {
    const n = hostName(e);
    if (n === "" || /[\s/@?#]/u.test(n)) throw new LstmNerError(`allowed host ${JSON.stringify(e)} is not a host name`);
    names.add(n);
  }
  if (wildcard) names.delete(b);
  const allowed = [...names, ...(wildcard ? ["any IP address"] : [])];
  return {
    allowed,
    test(header) {
      if (header === undefined) return true;
      const h = hostName(header);
      return names.has(h) || (wildcard && isIP(h) !== 0);
    },
  };
}
