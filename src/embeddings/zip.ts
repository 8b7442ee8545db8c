import type { Readable } from "node:stream";
import * as path from "node:path";
import type * as yauzl from "yauzl";
import { LstmNerError } from "../util/errors.js";

async function openZip(file: string): Promise<yauzl.ZipFile> {
  // Loaded on first use: only zipped vectors need it, and nothing is loaded at import that a user does not call.
  const { default: yauzl } = await import("yauzl");
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true, autoClose: false }, (err, zip) => {
      if (err !== null) reject(new LstmNerError(`not a readable zip archive (${err.message})`, { file, cause: err }));
      else resolve(zip);
    });
  });
}

/** Names of the file entries (not folders) in a zip archive. */
export async function listZipEntries(file: string): Promise<string[]> {
  const zip = await openZip(file);
  try {
    return await new Promise<string[]>((resolve, reject) => {
      const names: string[] = [];
      zip.on("entry", (e: yauzl.Entry) => {
        if (!e.fileName.endsWith("/")) names.push(e.fileName);
        zip.readEntry();
      });
      zip.on("end", () => resolve(names));
      zip.on("error", (err: Error) => reject(new LstmNerError(`corrupt zip archive (${err.message})`, { file, cause: err })));
      zip.readEntry();
    });
  } finally {
    zip.close();
  }
}

/**
 * Stream one entry out of a zip archive without unpacking the rest. `entry`
 * matches an entry's full name or its base name; when omitted the archive
 * must hold exactly one file.
 */
export async function openZipEntry(file: string, entry: string | undefined): Promise<{ name: string; stream: Readable }> {
  const names = await listZipEntries(file);
  const wanted = entry ?? (names.length === 1 ? names[0] : undefined);
  if (wanted === undefined) {
    throw new LstmNerError(`zip archive holds ${names.length} files; choose one with zipEntry: ${names.join(", ")}`, { file });
  }
  const name = names.find((n) => n === wanted) ?? names.find((n) => path.posix.basename(n) === wanted);
  if (name === undefined) throw new LstmNerError(`zip archive has no entry ${JSON.stringify(wanted)}; it holds: ${names.join(", ")}`, { file });
  const zip = await openZip(file);
  return new Promise((resolve, reject) => {
    const fail = (err: Error): void => {
      zip.close();
      reject(new LstmNerError(`corrupt zip archive (${err.message})`, { file, cause: err }));
    };
    zip.on("error", fail);
    zip.on("entry", (e: yauzl.Entry) => {
      if (e.fileName !== name) {
        zip.readEntry();
        return;
      }
      zip.openReadStream(e, (err, stream) => {
        if (err !== null) return fail(err);
        stream.on("close", () => zip.close());
        resolve({ name, stream });
      });
    });
    zip.on("end", () => fail(new Error(`entry ${name} vanished`)));
    zip.readEntry();
  });
}

/** Every file entry of a zip archive, read into memory (for small archives and archives of tensors). */
export async function readZipEntries(file: string): Promise<Map<string, Uint8Array>> {
  const zip = await openZip(file);
  try {
    return await new Promise<Map<string, Uint8Array>>((resolve, reject) => {
      const out = new Map<string, Uint8Array>();
      const fail = (err: Error): void => reject(new LstmNerError(`corrupt zip archive (${err.message})`, { file, cause: err }));
      zip.on("error", fail);
      zip.on("end", () => resolve(out));
      zip.on("entry", (e: yauzl.Entry) => {
        if (e.fileName.endsWith("/")) return zip.readEntry();
        zip.openReadStream(e, (err, stream) => {
          if (err !== null) return fail(err);
          const chunks: Buffer[] = [];
          stream.on("data", (c: Buffer) => chunks.push(c));
          stream.on("error", fail);
          stream.on("end", () => {
            out.set(e.fileName, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
            zip.readEntry();
          });
        });
      });
      zip.readEntry();
    });
  } finally {
    zip.close();
  }
}
