import { act, renderHook } from "@testing-library/react";
import type { ReactNode } from "react";
import { describe, expect, it, vi } from "vitest";
import {
  ChatProvider,
  useChannelList,
  useConnectionState,
  useMessages,
  useOutbox,
  useReadReceipts,
  useMembers,
  useStarred,
  useThread,
  useTotalUnread,
  useTyping,
} from "../src/index.js";
import { channel, createFakeClient, message, type FakeClient } from "./fakeClient.js";

function wrapperFor(fake: FakeClient) {
  return ({ children }: { children?: ReactNode }) => (
    <ChatProvider client={fake.client}>{children}</ChatProvider>
  );
}

describe("useMessages", () => {
  it("re-renders on store changes and keeps unchanged items' identity", () => {
    const fake = createFakeClient();
    const store = fake.messageStore("messaging:general");
    let renders = 0;
    const { result } = renderHook(
      () => {
        renders += 1;
        return useMessages("messaging:general");
      },
      { wrapper: wrapperFor(fake) },
    );
    expect(result.current.ready).toBe(false);
    expect(result.current.messages).toEqual([]);

    const a = message({ text: "a" });
    const b = message({ text: "b" });
    act(() => store.set([a, b]));
    expect(result.current.ready).toBe(true);
    expect(result.current.messages.map((m) => m.message.text)).toEqual(["a", "b"]);
    const first = result.current;

    // A new message: a new array, but the old items are the very same objects.
    const c = message({ text: "c" });
    act(() => store.set([a, b, c]));
    expect(result.current.messages).toHaveLength(3);
    expect(result.current.messages[0]).toBe(first.messages[0]);
    expect(result.current.messages[1]).toBe(first.messages[1]);
    // The callbacks are stable across changes.
    expect(result.current.loadOlder).toBe(first.loadOlder);

    // A notification without a change: the state object keeps its identity, no re-render.
    const before = result.current;
    const rendersBefore = renders;
    act(() => store.emit());
    expect(result.current).toBe(before);
    expect(renders).toBe(rendersBefore);
  });

  it("exposes hasOlder and loadOlder from the store", async () => {
    const fake = createFakeClient();
    const store = fake.messageStore("messaging:general");
    const older = message({ text: "older" });
    store.olderPages = [[older]];
    store.hasOlder = true;
    store.set([message({ text: "newest" })]);
    const { result } = renderHook(() => useMessages("messaging:general"), {
      wrapper: wrapperFor(fake),
    });
    expect(result.current.hasOlder).toBe(true);
    await act(async () => {
      await result.current.loadOlder();
    });
    expect(store.loadOlder).toHaveBeenCalledTimes(1);
    expect(result.current.hasOlder).toBe(false);
    expect(result.current.messages[0]).toBe(older);
  });

  it("asks the client for the store with the page size and switches with the cid", () => {
    const fake = createFakeClient();
    const { result, rerender } = renderHook(({ cid }) => useMessages(cid, 50), {
      wrapper: wrapperFor(fake),
      initialProps: { cid: "messaging:a" as string | null },
    });
    expect(fake.client.messages).toHaveBeenLastCalledWith("messaging:a", 50);
    const a = fake.messageStore("messaging:a", 50);
    const b = fake.messageStore("messaging:b", 50);
    act(() => a.set([message({ text: "in a" })]));
    act(() => b.set([message({ text: "in b" })]));
    expect(result.current.messages[0]?.message.text).toBe("in a");
    rerender({ cid: "messaging:b" });
    expect(result.current.messages[0]?.message.text).toBe("in b");
    expect(a.listenerCount).toBe(0);
    expect(b.listenerCount).toBe(1);
    rerender({ cid: null });
    expect(result.current.messages).toEqual([]);
    expect(b.listenerCount).toBe(0);
  });

  it("unsubscribes on unmount", () => {
    const fake = createFakeClient();
    const store = fake.messageStore("messaging:general");
    const { unmount } = renderHook(() => useMessages("messaging:general"), {
      wrapper: wrapperFor(fake),
    });
    expect(store.listenerCount).toBe(1);
    unmount();
    expect(store.listenerCount).toBe(0);
  });
});

describe("useStarred", () => {
  it("follows the starred store, pages it, and unsubscribes on unmount", async () => {
    const fake = createFakeClient();
    const store = fake.starredStore(10);
    const { result, unmount } = renderHook(() => useStarred(10), { wrapper: wrapperFor(fake) });
    expect(fake.client.starred).toHaveBeenCalledWith(10);
    expect(result.current.ready).toBe(false);
    expect(store.listenerCount).toBeGreaterThan(0);

    const newer = message({ text: "newer" }, { type: "sent" }, { starred: true });
    const older = message({ text: "older" }, { type: "sent" }, { starred: true });
    store.hasMore = true;
    act(() => store.set([newer]));
    expect(result.current.ready).toBe(true);
    expect(result.current.messages).toEqual([newer]);
    expect(result.current.hasMore).toBe(true);
    const loadMore = result.current.loadMore;

    store.loadMore.mockImplementationOnce(async () => {
      store.hasMore = false;
      store.set([newer, older]);
      return false;
    });
    await act(async () => {
      expect(await result.current.loadMore()).toBe(false);
    });
    expect(result.current.messages.map((m) => m.message.text)).toEqual(["newer", "older"]);
    expect(result.current.hasMore).toBe(false);
    expect(result.current.loadMore).toBe(loadMore);
    unmount();
    expect(store.listenerCount).toBe(0);
  });
});

describe("the other hooks", () => {
  it("all unsubscribe on unmount", () => {
    const fake = createFakeClient();
    const cid = "messaging:general";
    const { unmount } = renderHook(
      () => {
        useChannelList();
        useThread("p1");
        useConnectionState();
        useTyping(cid);
        useOutbox();
        useReadReceipts(cid);
        useMembers(cid);
      },
      { wrapper: wrapperFor(fake) },
    );
    const stores = [
      fake.channelStore(),
      fake.threadStore("p1"),
      fake.connection,
      fake.typingStore(cid),
      fake.outbox,
      fake.client.readReceipts(cid) as unknown as { listenerCount: number },
      fake.memberStore(cid),
    ];
    for (const s of stores) expect(s.listenerCount).toBe(1);
    unmount();
    for (const s of stores) expect(s.listenerCount).toBe(0);
  });

  it("useChannelList follows the store", () => {
    const fake = createFakeClient();
    const { result } = renderHook(() => useChannelList(10), { wrapper: wrapperFor(fake) });
    expect(fake.client.channels).toHaveBeenCalledWith(10);
    expect(result.current.ready).toBe(false);
    act(() => fake.channelStore(10).set([channel("team:general")]));
    expect(result.current.ready).toBe(true);
    expect(result.current.channels.map((c) => c.channel.cid)).toEqual(["team:general"]);
  });

  it("useChannelList takes a query, compared by value", () => {
    const fake = createFakeClient();
    const { result, rerender } = renderHook(
      ({ text }: { text: string }) => useChannelList({ muted: "only", text }),
      { wrapper: wrapperFor(fake), initialProps: { text: "ops" } },
    );
    rerender({ text: "ops" });
    expect(fake.client.channels).toHaveBeenCalledTimes(1);
    expect(fake.client.channels).toHaveBeenCalledWith({ muted: "only", text: "ops" });
    act(() => fake.channelStore({ muted: "only", text: "ops" }).set([channel("team:ops", { muted: true })]));
    expect(result.current.channels.map((c) => [c.channel.cid, c.muted])).toEqual([["team:ops", true]]);
    rerender({ text: "dev" });
    expect(fake.client.channels).toHaveBeenLastCalledWith({ muted: "only", text: "dev" });
  });

  it("useTotalUnread follows the total store", () => {
    const fake = createFakeClient();
    const { result, unmount } = renderHook(() => useTotalUnread(), { wrapper: wrapperFor(fake) });
    expect(result.current).toEqual({ unreadCount: 0, unreadMentions: 0, ready: false });
    act(() => fake.totalUnread.set({ unreadCount: 7, unreadMentions: 2 }));
    expect(result.current).toEqual({ unreadCount: 7, unreadMentions: 2, ready: true });
    unmount();
    expect(fake.totalUnread.listenerCount).toBe(0);
  });

  it("useConnectionState follows the connection store", () => {
    const fake = createFakeClient();
    const { result } = renderHook(() => useConnectionState(), { wrapper: wrapperFor(fake) });
    expect(result.current.type).toBe("connected");
    act(() => fake.connection.set({ type: "waiting_to_reconnect", attempt: 2, retryInMs: 3000 }));
    expect(result.current).toEqual({ type: "waiting_to_reconnect", attempt: 2, retryInMs: 3000 });
  });

  it("useTyping leaves out the current user and filters by thread", () => {
    const fake = createFakeClient("alice");
    const cid = "messaging:general";
    const { result, rerender } = renderHook(({ parent }) => useTyping(cid, parent), {
      wrapper: wrapperFor(fake),
      initialProps: { parent: undefined as string | null | undefined },
    });
    act(() =>
      fake.typingStore(cid).set([
        { userId: "alice", parentId: null },
        { userId: "bob", parentId: null },
        { userId: "carol", parentId: "p1" },
      ]),
    );
    expect(result.current.map((t) => t.userId)).toEqual(["bob", "carol"]);
    const everyone = result.current;
    rerender({ parent: undefined });
    expect(result.current).toBe(everyone);
    rerender({ parent: null });
    expect(result.current.map((t) => t.userId)).toEqual(["bob"]);
    rerender({ parent: "p1" });
    expect(result.current.map((t) => t.userId)).toEqual(["carol"]);
  });

  it("useMembers follows the channel's member store and switches with the cid", () => {
    const fake = createFakeClient();
    const { result, rerender } = renderHook(({ cid }) => useMembers(cid), {
      wrapper: wrapperFor(fake),
      initialProps: { cid: "team:crew" as string | null },
    });
    expect(fake.client.members).toHaveBeenCalledWith("team:crew");
    const carol = {
      userId: "carol",
      role: "member" as const,
      joinedAt: null,
      online: false,
      lastReadMessageId: null,
      lastReadAt: null,
      pending: true,
    };
    act(() => fake.memberStore("team:crew").set([carol]));
    expect(result.current).toEqual([carol]);
    rerender({ cid: null });
    expect(result.current).toEqual([]);
  });

  it("useOutbox lists the queued operations", () => {
    const fake = createFakeClient();
    const { result } = renderHook(() => useOutbox(), { wrapper: wrapperFor(fake) });
    expect(result.current).toEqual([]);
    act(() =>
      fake.outbox.set([
        { opId: "m1", op: { op: "send_message", cid: "messaging:general" }, state: { state: "pending" } },
      ]),
    );
    expect(result.current).toHaveLength(1);
  });

  it("useOutbox follows an item as its state changes and it leaves", () => {
    const fake = createFakeClient();
    const { result } = renderHook(() => useOutbox(), { wrapper: wrapperFor(fake) });
    const op = { op: "send_message", cid: "messaging:general" };
    act(() => fake.outbox.set([{ opId: "m1", op, state: { state: "pending" } }]));
    act(() =>
      fake.outbox.set([{ opId: "m1", op, state: { state: "waiting_retry", detail: { attempt: 1, at: 500 } } }]),
    );
    expect(result.current[0]!.state.state).toBe("waiting_retry");
    act(() => fake.outbox.set([]));
    expect(result.current).toEqual([]);
    // One store for the client, subscribed once however often the hook renders.
    expect(fake.client.outboxStore).toHaveBeenCalledTimes(1);
  });

  it("throws a clear error outside a ChatProvider", () => {
    const spy = vi.spyOn(console, "error").mockImplementation(() => {});
    expect(() => renderHook(() => useOutbox())).toThrow(/ChatProvider/);
    spy.mockRestore();
  });
});
