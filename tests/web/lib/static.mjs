// A plain static file server for the demo build on its own origin (127.0.0.1, a free
// port): the "app on its own host" case. It serves files and index.html for other paths,
// and nothing else: it counts API requests (there should be none: the demo must talk to
// the chat-server's origin).

import { readFile } from "node:fs/promises";
import http from "node:http";
import { extname, join, normalize } from "node:path";
import { DEMO_DIST, freePort } from "./server.mjs";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".wasm": "application/wasm",
  ".map": "application/json",
  ".svg": "image/svg+xml",
};

/** Starts the server; `{ origin, apiHits(), close() }`. */
export async function serveStatic(dir = DEMO_DIST) {
  let apiHits = 0;
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, "http://x");
    if (url.pathname.startsWith("/v1/") || url.pathname.startsWith("/connection")) {
      apiHits++;
      res.writeHead(404).end();
      return;
    }
    const rel = normalize(url.pathname === "/" ? "index.html" : decodeURIComponent(url.pathname.slice(1)));
    if (rel.startsWith("..") || rel.split("/").some((s) => s.startsWith("."))) {
      res.writeHead(404).end();
      return;
    }
    let file = rel;
    let body;
    try {
      body = await readFile(join(dir, file));
    } catch {
      file = "index.html";
      body = await readFile(join(dir, file));
    }
    res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" }).end(body);
  });
  const port = await freePort();
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  return {
    origin: `http://127.0.0.1:${port}`,
    apiHits: () => apiHits,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
