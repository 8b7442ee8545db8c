import { promises as fs } from "node:fs";
import * as path from "node:path";

/**
 * Write a file so that readers only ever see the old or the complete new
 * contents: write to a temporary file beside it, then rename over it. A crash
 * leaves at most a stray `.tmp` file, never a half-written target.
 */
export async function writeFileAtomic(file: string, data: Uint8Array | string | Iterable<Uint8Array>): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    const handle = await fs.open(tmp, "w");
    try {
      if (typeof data === "string" || data instanceof Uint8Array) {
        await handle.writeFile(data);
      } else {
        for (const chunk of data) await handle.write(chunk);
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}
