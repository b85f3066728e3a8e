// An in-process Web Locks manager (exclusive locks, `ifAvailable`, `signal`) so several
// engines in one Node process can be tabs of one browser. Node 20 has no navigator.locks.

import type { LockManagerLike } from "../../src/engine.js";

export class FakeLocks implements LockManagerLike {
  private readonly held = new Set<string>();
  private readonly queues = new Map<string, (() => void)[]>();

  async request(
    name: string,
    options: { ifAvailable?: boolean; signal?: AbortSignal },
    callback: (lock: unknown) => unknown,
  ): Promise<unknown> {
    if (options.signal?.aborted) throw new DOMException("aborted", "AbortError");
    if (this.held.has(name)) {
      if (options.ifAvailable) return await callback(null);
      await new Promise<void>((grant, reject) => {
        const queue = this.queues.get(name) ?? [];
        queue.push(grant);
        this.queues.set(name, queue);
        options.signal?.addEventListener("abort", () => {
          const i = queue.indexOf(grant);
          if (i >= 0) {
            queue.splice(i, 1);
            reject(new DOMException("aborted", "AbortError"));
          }
        });
      });
    } else {
      this.held.add(name);
    }
    try {
      return await callback({ name, mode: "exclusive" });
    } finally {
      const next = this.queues.get(name)?.shift();
      if (next) next(); // Ownership passes on: the lock stays held.
      else this.held.delete(name);
    }
  }
}
