/**
 * Who a connection comes from, and how many connections each client may hold
 * open: without a limit per client, one client opening many slow connections
 * takes every slot of the global cap and locks everyone else out.
 */
import type { Socket } from "node:net";

/** The client a connection comes from: its remote address (an IPv4-mapped IPv6 address as the IPv4 one). */
export function clientOf(socket: Socket): string {
  const a = socket.remoteAddress ?? "";
  return a.startsWith("::ffff:") && a.includes(".") ? a.slice(7) : a;
}

/** Open connections per client, at most `max` each. */
export class ClientConnections {
  private readonly open = new Map<string, number>();

  constructor(readonly max: number) {}

  /**
   * Count a new connection, unless its client already has `max` open (then
   * false, and it is not counted). A counted one is uncounted when it closes.
   */
  admit(socket: Socket): boolean {
    const client = clientOf(socket);
    const n = this.open.get(client) ?? 0;
    if (n >= this.max) return false;
    this.open.set(client, n + 1);
    socket.once("close", () => {
      const left = (this.open.get(client) ?? 1) - 1;
      if (left === 0) this.open.delete(client);
      else this.open.set(client, left);
    });
    return true;
  }

  /** Open connections of a client. */
  count(client: string): number {
    return this.open.get(client) ?? 0;
  }
}
