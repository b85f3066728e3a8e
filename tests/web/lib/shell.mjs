// With the server stopped, a reload still needs the app's files. The demo has no service
// worker, so a real browser would have nothing to show; here the context answers the
// page's static requests from the build on disk (standing in for an offline app shell /
// HTTP cache) while every API and realtime request fails as the down server's would.

import { readFile } from "node:fs/promises";
import { extname, join, normalize } from "node:path";
import { DEMO_DIST } from "./server.mjs";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".wasm": "application/wasm",
  ".map": "application/json",
  ".svg": "image/svg+xml",
};

/** Serves `origin`'s app files from `dir` to `context`; returns a function undoing it. */
export async function serveShellFromDisk(context, origin, dir = DEMO_DIST) {
  const served = [];
  const pattern = `${origin}/**`;
  const handler = async (route) => {
    const url = new URL(route.request().url());
    if (url.pathname.startsWith("/v1/") || url.pathname.startsWith("/connection") || url.pathname === "/healthz") {
      return await route.abort("connectionrefused");
    }
    const rel = normalize(url.pathname === "/" ? "index.html" : decodeURIComponent(url.pathname.slice(1)));
    if (rel.startsWith("..")) return await route.abort("accessdenied");
    let body;
    let file = rel;
    try {
      body = await readFile(join(dir, rel));
    } catch {
      file = "index.html"; // the server's SPA fallback
      body = await readFile(join(dir, file));
    }
    served.push(url.pathname);
    return await route.fulfill({ status: 200, body, contentType: TYPES[extname(file)] ?? "application/octet-stream" });
  };
  await context.route(pattern, handler);
  return {
    served,
    undo: () => context.unroute(pattern, handler),
  };
}
