import * as os from "node:os";
import * as path from "node:path";

/**
 * The folder where downloads are cached: `$LSTM_NER_HOME` if set, otherwise
 * the platform's per-user cache folder (`$XDG_CACHE_HOME/lstm-ner` or
 * `~/.cache/lstm-ner` on Linux, `~/Library/Caches/lstm-ner` on macOS,
 * `%LOCALAPPDATA%\lstm-ner\Cache` on Windows). Read at each call, so a
 * changed environment takes effect.
 */
export function cacheDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  const home = env["LSTM_NER_HOME"];
  if (home !== undefined && home !== "") return path.resolve(home);
  const user = env["HOME"] ?? env["USERPROFILE"] ?? os.homedir();
  if (platform === "darwin") return path.join(user, "Library", "Caches", "lstm-ner");
  if (platform === "win32") {
    const local = env["LOCALAPPDATA"] ?? path.join(user, "AppData", "Local");
    return path.win32.join(local, "lstm-ner", "Cache");
  }
  const xdg = env["XDG_CACHE_HOME"];
  // The XDG spec says relative values are invalid and must be ignored.
  if (xdg !== undefined && path.isAbsolute(xdg)) return path.join(xdg, "lstm-ner");
  return path.join(user, ".cache", "lstm-ner");
}
