// Applying chat-core's list diffs to immutable arrays with structural sharing: a batch
// makes one new array; items it does not change keep their identity, and an item that
// comes back equal (an update with no change, or the same item in a reset) keeps the old
// object — so `React.memo` rows and selectors re-render only what changed.

import type { ListDiff } from "./types.js";

/** Deep equality of JSON-like values and `Date`s (what the stores hold). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (a instanceof Date || b instanceof Date) {
    return a instanceof Date && b instanceof Date && a.getTime() === b.getTime();
  }
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(b, k)) return false;
    if (!deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}

/** `next` with each item equal to the old item of the same key replaced by the old one. */
function reuse<T>(old: readonly T[], next: T[], key: (item: T) => string): T[] {
  if (old.length === 0) return next;
  const byKey = new Map<string, T>();
  for (const item of old) byKey.set(key(item), item);
  return next.map((item) => {
    const prev = byKey.get(key(item));
    return prev !== undefined && deepEqual(prev, item) ? prev : item;
  });
}

/**
 * The list after a batch of diffs (in order; a `reset` replaces everything). Returns
 * `prev` itself when the batch changed nothing.
 */
export function applyDiffs<T>(prev: readonly T[], diffs: readonly ListDiff<T>[], key: (item: T) => string): readonly T[] {
  let next: T[] | undefined;
  const writable = () => (next ??= prev.slice());
  for (const d of diffs) {
    switch (d.type) {
      case "reset":
        next = reuse(next ?? prev, d.items.slice(), key);
        break;
      case "insert":
        writable().splice(d.index, 0, d.item);
        break;
      case "update": {
        const list = writable();
        const old = list[d.index];
        list[d.index] = old !== undefined && deepEqual(old, d.item) ? old : d.item;
        break;
      }
      case "remove":
        writable().splice(d.index, 1);
        break;
    }
  }
  if (next === undefined) return prev;
  if (next.length === prev.length && next.every((item, i) => item === prev[i])) return prev;
  return next;
}
