/**
 * The browser training page as routes of `lstm-ner serve` (Node): the files
 * of build/browser under /train/, sent with the COOP/COEP headers that make
 * the page cross-origin isolated (shared WebAssembly memory).
 */
import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** Where the training page lives on the server. */
export const TRAIN_PAGE_PATH = "/train/";

const FILES: Record<string, string> = {
  "": "train.html", "train.js": "text/javascript", "train-worker.js": "text/javascript", "kernels-helper.js": "text/javascript", "uPlot.min.css": "text/css",
  "kernels.wasm": "application/wasm", "kernels-st.wasm": "application/wasm",
};

/** GET routes of the training page; each file is read on its first request, then kept. */
export function trainPageRoutes(): Record<string, { GET: Handler }> {
  const routes: Record<string, { GET: Handler }> = {};
  for (const [name, type] of Object.entries(FILES)) {
    const file = name === "" ? "train.html" : name;
    let body: Buffer | undefined;
    routes[TRAIN_PAGE_PATH + name] = {
      GET: (_req, res) => {
        try {
          body ??= readFileSync(new URL(`../../../build/browser/${file}`, import.meta.url));
        } catch {
          res.writeHead(404, { "Content-Type": "text/plain; charset=utf-8" }).end(`build/browser/${file} is missing: run npm run build:browser\n`);
          return;
        }
        res.writeHead(200, {
          "Content-Type": name === "" ? "text/html; charset=utf-8" : type!, "Content-Length": body.length,
          "Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp", "Cross-Origin-Resource-Policy": "same-origin",
        });
        res.end(body);
      },
    };
  }
  routes["/train"] = { GET: (_req, res) => void res.writeHead(308, { Location: TRAIN_PAGE_PATH }).end() };
  return routes;
}
