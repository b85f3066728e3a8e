"use client";
// The consumer apps' one component (copied into each app's source by run.mjs): what an app
// developer writes first. It connects in an effect (never during server rendering), sends
// one message and shows the channel with @onyxchat/react's components. The server, app,
// user, token and channel come from the page's query string (run.mjs opens
// `/?server=…&app=…&user=…&token=…&cid=…&name=…`).
import { useEffect, useState } from "react";
import { ChatClient } from "@onyxchat/core";
import { ChatProvider, MessageInput, MessageList } from "@onyxchat/react";

export function Chat({ children }) {
  const [state, setState] = useState({ client: null, error: null, cid: null });

  useEffect(() => {
    const q = new URLSearchParams(window.location.search);
    const cid = q.get("cid");
    let active = true;
    let client = null;
    ChatClient.connect({
      serverUrl: q.get("server"),
      appId: q.get("app"),
      userId: q.get("user"),
      tokenProvider: async () => q.get("token"),
    })
      .then(async (c) => {
        client = c;
        if (!active) return c.close();
        setState({ client: c, error: null, cid });
        await c.sendMessage(cid, `sent from the ${q.get("name")} app`);
      })
      .catch((e) => active && setState({ client: null, error: `${e?.name}: ${e?.message}`, cid }));
    return () => {
      active = false;
      client?.close();
    };
  }, []);

  if (state.error) return <p data-testid="chat-error">{state.error}</p>;
  if (!state.client) return <p data-testid="chat-connecting">Connecting…</p>;
  return (
    <ChatProvider client={state.client}>
      <div data-testid="chat-ready" style={{ height: 400, display: "flex", flexDirection: "column" }}>
        {children}
        <MessageList cid={state.cid} />
        <MessageInput cid={state.cid} />
      </div>
    </ChatProvider>
  );
}
