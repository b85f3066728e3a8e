// Polling assertions (no fixed sleeps): retry a probe until it passes or time runs out.

import { isDeepStrictEqual } from "node:util";

export class AssertionError extends Error {
  constructor(message) {
    super(message);
    this.name = "AssertionError";
  }
}

export function assert(condition, message) {
  if (!condition) throw new AssertionError(message);
}

export function assertEqual(actual, expected, message) {
  if (!isDeepStrictEqual(actual, expected)) {
    throw new AssertionError(`${message}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `probe` (sync or async) until `check(value)` is true; returns the last value.
 * Probe errors count as "not yet" (the last one is reported on timeout).
 */
export async function poll(probe, check, { timeout = 15_000, interval = 100, message = "condition" } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  let lastError;
  for (;;) {
    try {
      last = await probe();
      lastError = undefined;
      if (check(last)) return last;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() >= deadline) {
      const why = lastError ? `last error: ${lastError.message}` : `last value: ${JSON.stringify(last)}`;
      throw new AssertionError(`timed out after ${timeout} ms waiting for ${message} (${why})`);
    }
    await sleep(interval);
  }
}

/** Waits until `locator`'s attribute `name` equals `expected` (or passes it, a function). */
export async function expectAttr(locator, name, expected, options = {}) {
  const check = typeof expected === "function" ? expected : (v) => v === String(expected);
  return await poll(
    () => locator.first().getAttribute(name, { timeout: 1000 }),
    check,
    { message: `${locator} [${name}] ${typeof expected === "function" ? "to pass its check" : `= ${expected}`}`, ...options },
  );
}

/** Waits until `locator` matches exactly `n` elements (or passes `n`, a function). */
export async function expectCount(locator, n, options = {}) {
  const check = typeof n === "function" ? n : (c) => c === n;
  return await poll(() => locator.count(), check, { message: `${locator} count ${typeof n === "function" ? "to pass its check" : `= ${n}`}`, ...options });
}

/**
 * Samples `probe` every `interval` ms for `duration` ms and fails at once if `check`
 * does not hold: for "stays so" assertions, which need a fixed observation window.
 */
export async function holds(probe, check, { duration, interval = 250, message = "condition" }) {
  const end = Date.now() + duration;
  let samples = 0;
  for (;;) {
    const value = await probe();
    samples++;
    if (!check(value)) throw new AssertionError(`${message} stopped holding after ${samples} samples: ${JSON.stringify(value)}`);
    if (Date.now() >= end) return samples;
    await sleep(interval);
  }
}
