// Vitest: Node tests against the real chat-server (started once by the global setup) and
// the real wasm engine, run in-process on a MessageChannel.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["./test/support/global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
