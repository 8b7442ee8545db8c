/** Where the job queue is: options shared by the queue commands (no BullMQ or ioredis types, which are optional). */
export interface RedisOptions {
  /** redis://[user:password@]host:port[/db] */
  redis: string;
  /** Queue name. */
  queue: string;
  /** How long to keep retrying the first connection, in ms (default 10000). */
  connectTimeoutMs?: number;
  /** Called when the connection to Redis is lost or back (for a log line). */
  onConnection?: (event: "lost" | "back", detail: string) => void;
}
