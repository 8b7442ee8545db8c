/**
 * The one error type the library throws for bad input: it names where the
 * problem is (file and line, or a field), so the CLI can print one clear line
 * instead of a stack trace.
 */
export class LstmNerError extends Error {
  /** File the problem is in, if any. */
  readonly file: string | undefined;
  /** 1-based line number in `file`, if known. */
  readonly line: number | undefined;

  constructor(message: string, where: { file?: string; line?: number; cause?: unknown } = {}) {
    const loc = where.file === undefined ? "" : where.line === undefined ? `${where.file}: ` : `${where.file}:${where.line}: `;
    super(loc + message, where.cause === undefined ? undefined : { cause: where.cause });
    this.name = "LstmNerError";
    this.file = where.file;
    this.line = where.line;
  }
}
