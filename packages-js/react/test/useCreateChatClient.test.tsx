import type { ConnectOptions } from "@onyxchat/core";
import { act, render, renderHook, screen, waitFor } from "@testing-library/react";
import { StrictMode } from "react";
import { renderToString } from "react-dom/server";
import { describe, expect, it, vi } from "vitest";
import { ChatProvider, useChannelList, useCreateChatClient, type UseCreateChatClientOptions } from "../src/index.js";
import { createFakeClient } from "./fakeClient.js";

type Fake = ReturnType<typeof createFakeClient>["client"] & { close: () => Promise<void> };

/**
 * An injectable `connect` that counts engines: every connect is one "worker" until its
 * client is closed. Connects resolve when the test says so (`resolveAll`) or at once.
 */
function fakeEngine({ manual = false } = {}) {
  const live = new Set<Fake>();
  let maxLive = 0;
  const pending: (() => void)[] = [];
  const opened: Fake[] = [];
  const connect = vi.fn((options: ConnectOptions) => {
    const base = createFakeClient(options.userId).client;
    const client: Fake = Object.assign(base, {
      close: vi.fn(async () => {
        live.delete(client);
      }),
    });
    return new Promise<Fake>((resolve) => {
      const open = () => {
        live.add(client);
        opened.push(client);
        maxLive = Math.max(maxLive, live.size);
        resolve(client);
      };
      if (manual) pending.push(open);
      else open();
    });
  });
  return {
    connect,
    live,
    opened,
    get maxLive() {
      return maxLive;
    },
    resolveAll: () => {
      for (const open of pending.splice(0)) open();
    },
  };
}

const base = (userId: string) => ({
  serverUrl: "http://chat.test",
  appId: "app",
  userId,
  tokenProvider: async () => `token-${userId}`,
});

/** Lets the deferred close (a 0 ms timer) and the promise chains run. */
const settle = () => act(() => new Promise<void>((r) => setTimeout(r, 5)));

function useHook(props: UseCreateChatClientOptions<Fake>) {
  return useCreateChatClient<Fake>(props);
}


describe("useCreateChatClient", () => {
  it("renders null on the server and connects nothing there", () => {
    const engine = fakeEngine();
    function App() {
      const client = useCreateChatClient<Fake>({ ...base("alice"), connect: engine.connect });
      return <p>{client ? "ready" : "connecting"}</p>;
    }
    expect(renderToString(<App />)).toContain("connecting");
    expect(engine.connect).not.toHaveBeenCalled();
  });

  it("returns null first, then the connected client", async () => {
    const engine = fakeEngine({ manual: true });
    const { result } = renderHook(() => useHook({ ...base("alice"), connect: engine.connect }));
    expect(result.current).toBeNull();
    await settle();
    expect(engine.connect).toHaveBeenCalledTimes(1);
    expect(result.current).toBeNull();
    await act(async () => engine.resolveAll());
    expect(result.current).toBe(engine.opened[0]);
    expect(result.current?.userId).toBe("alice");
  });

  it("connects once under StrictMode and closes that client on unmount", async () => {
    const engine = fakeEngine();
    const { result, unmount } = renderHook(() => useHook({ ...base("alice"), connect: engine.connect }), {
      reactStrictMode: true,
    });
    await settle();
    expect(engine.connect).toHaveBeenCalledTimes(1);
    expect(result.current).toBe(engine.opened[0]);
    expect(engine.live.size).toBe(1);

    unmount();
    await settle();
    expect(engine.opened[0]!.close).toHaveBeenCalledTimes(1);
    expect(engine.live.size).toBe(0);
  });

  it("closes the old client before connecting the next user's, under StrictMode", async () => {
    const engine = fakeEngine();
    const { result, rerender, unmount } = renderHook((p: { userId: string }) =>
      useHook({ ...base(p.userId), connect: engine.connect }), { reactStrictMode: true, initialProps: { userId: "alice" } });
    await settle();
    const alice = result.current!;
    expect(alice.userId).toBe("alice");

    rerender({ userId: "bob" });
    // The old user's client is never handed out for the new user.
    expect(result.current).toBeNull();
    await settle();
    expect(alice.close).toHaveBeenCalledTimes(1);
    expect(result.current?.userId).toBe("bob");
    expect(engine.connect).toHaveBeenCalledTimes(2);
    expect(engine.connect.mock.calls.map(([o]) => o.userId)).toEqual(["alice", "bob"]);
    expect(engine.maxLive).toBe(1);
    expect([...engine.live].map((c) => c.userId)).toEqual(["bob"]);

    unmount();
    await settle();
    expect(engine.live.size).toBe(0);
  });

  it("closes a client whose connect was still in flight at unmount", async () => {
    const engine = fakeEngine({ manual: true });
    const { unmount } = renderHook(() => useHook({ ...base("alice"), connect: engine.connect }), {
      reactStrictMode: true,
    });
    await settle();
    unmount();
    await settle();
    await act(async () => engine.resolveAll());
    await settle();
    expect(engine.connect).toHaveBeenCalledTimes(1);
    expect(engine.opened[0]!.close).toHaveBeenCalledTimes(1);
    expect(engine.live.size).toBe(0);
  });

  it("reports a failed connect to onError once and stays null", async () => {
    const failure = new Error("server refused");
    const connect = vi.fn(async () => {
      throw failure;
    });
    const onError = vi.fn();
    const { result } = renderHook(() => useHook({ ...base("alice"), connect, onError }), { reactStrictMode: true });
    await settle();
    expect(connect).toHaveBeenCalledTimes(1);
    expect(onError).toHaveBeenCalledTimes(1);
    expect(onError).toHaveBeenCalledWith(failure);
    expect(result.current).toBeNull();
  });

  it("uses the latest tokenProvider without reconnecting", async () => {
    const engine = fakeEngine();
    const { rerender } = renderHook((p: { token: string }) =>
      useHook({ ...base("alice"), tokenProvider: async () => p.token, connect: engine.connect }), {
      initialProps: { token: "first" },
    });
    await settle();
    rerender({ token: "second" });
    await settle();
    expect(engine.connect).toHaveBeenCalledTimes(1);
    const options = engine.connect.mock.calls[0]![0];
    await expect(options.tokenProvider()).resolves.toBe("second");
  });

  it("feeds a ChatProvider", async () => {
    const engine = fakeEngine();
    function App() {
      const client = useCreateChatClient<Fake>({ ...base("alice"), connect: engine.connect });
      if (!client) return <p>connecting</p>;
      return (
        <ChatProvider client={client}>
          <Count />
        </ChatProvider>
      );
    }
    function Count() {
      const { channels } = useChannelList();
      return <p>{channels.length} channels</p>;
    }
    render(
      <StrictMode>
        <App />
      </StrictMode>,
    );
    expect(screen.getByText("connecting")).toBeTruthy();
    await waitFor(() => expect(screen.getByText("0 channels")).toBeTruthy());
    expect(engine.connect).toHaveBeenCalledTimes(1);
  });
});
