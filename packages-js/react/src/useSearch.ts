// `useSearch`: full-text search as the user types. The local cache's hits show at once
// (`searchLocal`, offline too), then the first merged page (`search`: local hits first,
// then the server's, each message once) replaces them; `loadMore` appends later pages.
// A newer text discards the answers of older ones.

import { useCallback, useEffect, useRef, useState } from "react";
import { useChatClient } from "./context.js";
import type { SearchHit, SearchServerPart } from "./types.js";

export interface SearchState {
  /** The hits so far: local ones first, then the server's. */
  hits: readonly SearchHit[];
  /** What the server part did; `null` while it has not answered yet (or no search). */
  server: SearchServerPart | null;
  /** Whether a page is on its way. */
  loading: boolean;
  /** Whether `loadMore` may find more. */
  hasMore: boolean;
  /** Why the search failed, if it did. */
  error: unknown;
  /** Appends the next page (local and server); resolves `false` when nothing remains. */
  loadMore: () => Promise<boolean>;
}

export interface UseSearchOptions {
  /** Only this channel. */
  cid?: string;
  /** Hits per part of a page (default 20). */
  limit?: number;
}

const NONE: readonly SearchHit[] = Object.freeze([]);

/** Searches `text` (empty or blank: no search) in the user's messages. */
export function useSearch(text: string, options: UseSearchOptions = {}): SearchState {
  const client = useChatClient();
  const { cid, limit } = options;
  const [hits, setHits] = useState<readonly SearchHit[]>(NONE);
  const [server, setServer] = useState<SearchServerPart | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [next, setNext] = useState<string | null>(null);
  // The current search's generation: answers of older ones are dropped.
  const generation = useRef(0);

  useEffect(() => {
    const mine = ++generation.current;
    const current = () => generation.current === mine;
    setServer(null);
    setNext(null);
    setError(null);
    if (!text.trim()) {
      setHits(NONE);
      setLoading(false);
      return;
    }
    setLoading(true);
    const search = { cid, limit };
    client
      .searchLocal(text, search)
      .then((local) => {
        if (current()) setHits(local);
        return client.search(text, search);
      })
      .then((page) => {
        if (!current()) return;
        setHits(page.hits);
        setServer(page.server);
        setNext(page.next);
        setLoading(false);
      })
      .catch((e: unknown) => {
        if (!current()) return;
        setError(e);
        setLoading(false);
      });
  }, [client, text, cid, limit]);

  const loadMore = useCallback(async () => {
    if (!next) return false;
    const mine = generation.current;
    setLoading(true);
    try {
      const page = await client.search(text, { cid, limit, cursor: next });
      if (generation.current !== mine) return false;
      setHits((shown) => {
        const seen = new Set(shown.map((h) => h.message.id));
        return [...shown, ...page.hits.filter((h) => !seen.has(h.message.id))];
      });
      setServer(page.server);
      setNext(page.next);
      return page.next !== null;
    } catch (e) {
      if (generation.current === mine) setError(e);
      return false;
    } finally {
      if (generation.current === mine) setLoading(false);
    }
  }, [client, text, cid, limit, next]);

  return { hits, server, loading, hasMore: next !== null, error, loadMore };
}
