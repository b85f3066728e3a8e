// Start-up timing marks: `performance.mark("onyxchat:<phase>")` in the page's or the
// worker's timeline (chat-wasm marks its own phases the same way), so the browser's
// profiler and the web benchmark (`tests/web/bench.mjs`) can break the time to the first
// message down. Only one-off start-up phases are marked (never per message or call), and
// a mark never throws.

const done = new Set<string>();

/** Marks `onyxchat:<phase>` now. */
export function mark(phase: string): void {
  try {
    globalThis.performance?.mark?.(`onyxchat:${phase}`);
  } catch {
    // No User Timing here: nothing to mark.
  }
}

/** Marks `onyxchat:<phase>` the first time only (in this page or worker). */
export function markOnce(phase: string): void {
  if (done.has(phase)) return;
  done.add(phase);
  mark(phase);
}
