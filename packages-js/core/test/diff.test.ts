// applyDiffs: batches in order, one new array per batch, old objects kept when equal.

import { describe, expect, it } from "vitest";
import { applyDiffs, deepEqual } from "../src/diff.js";

type Item = { id: string; n: number; tags?: string[] };
const key = (i: Item) => i.id;

describe("applyDiffs", () => {
  const a = { id: "a", n: 1 };
  const b = { id: "b", n: 2, tags: ["x"] };
  const c = { id: "c", n: 3 };

  it("applies inserts, updates and removes in order without touching the old array", () => {
    const prev = [a, b];
    const next = applyDiffs<Item>(
      prev,
      [
        { type: "insert", index: 2, item: c },
        { type: "update", index: 0, item: { id: "a", n: 10 } },
        { type: "remove", index: 1 },
      ],
      key,
    );
    expect(next).toEqual([{ id: "a", n: 10 }, c]);
    expect(next[1]).toBe(c);
    expect(prev).toEqual([a, b]);
  });

  it("keeps equal items (and the whole array) on no-op updates and resets", () => {
    const prev = [a, b];
    expect(applyDiffs<Item>(prev, [{ type: "update", index: 1, item: { id: "b", n: 2, tags: ["x"] } }], key)).toBe(prev);
    expect(applyDiffs<Item>(prev, [{ type: "reset", items: [{ ...a }, { ...b, tags: ["x"] }] }], key)).toBe(prev);
    expect(applyDiffs<Item>(prev, [], key)).toBe(prev);
    const reset = applyDiffs<Item>(prev, [{ type: "reset", items: [{ ...b }, { id: "a", n: 5 }] }], key);
    expect(reset[0]).toBe(b);
    expect(reset[1]).not.toBe(a);
  });

  it("compares JSON-like values deeply", () => {
    expect(deepEqual({ x: [1, { y: null }] }, { x: [1, { y: null }] })).toBe(true);
    expect(deepEqual({ x: [1] }, { x: [1, 2] })).toBe(false);
    expect(deepEqual({ x: 1 }, { y: 1 })).toBe(false);
    expect(deepEqual([], {})).toBe(false);
    expect(deepEqual({ at: new Date(1) }, { at: new Date(1) })).toBe(true);
    expect(deepEqual({ at: new Date(1) }, { at: new Date(2) })).toBe(false);
    expect(deepEqual(new Date(1), {})).toBe(false);
  });
});
