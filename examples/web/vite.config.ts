import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The chat-server serves the built app (`--static-dir examples/web/dist`) on the API's
// origin. `npm run dev` serves it from Vite instead and forwards the API and the realtime
// socket to a server on :8787 (`cargo xtask demo`), so the app still talks to its own
// origin.
const server = process.env.ONYXCHAT_SERVER ?? "http://127.0.0.1:8787";

export default defineConfig({
  plugins: [react()],
  // No @onyxchat/core settings are needed (no optimizeDeps.exclude, no worker format): the
  // consumer-app test (tests/consumers) proves it on Vite 7 and 8, dev server and build.
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: true,
  },
  server: {
    port: 5173,
    proxy: {
      "/v1": { target: server, changeOrigin: true },
      "/connection": { target: server.replace(/^http/, "ws"), ws: true, changeOrigin: true },
      "/healthz": { target: server, changeOrigin: true },
    },
  },
});
