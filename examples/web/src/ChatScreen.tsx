import type { ChatClient, MessageItem } from "@onyxchat/core";
import {
  Avatar,
  ChannelList,
  ChatProvider,
  ConnectionBanner,
  MemberList,
  Search,
  MessageInput,
  MessageList,
  Thread,
  TranslationProvider,
  TypingIndicator,
  channelName,
  useChannelList,
  useConnectionState,
  useOutbox,
  useCreateChatClient,
  usePresence,
  useTotalUnread,
} from "@onyxchat/react";
import { useCallback, useEffect, useMemo, useState } from "react";
import { NewChannel } from "./NewChannel";
import { connectOrTakeEarly, earlySnapshot } from "./early";
import { SnapshotScreen, displayFor } from "./SnapshotScreen";
import {
  fetchDevSession,
  loadChannel,
  loadChannelTitle,
  saveChannel,
  saveChannelTitle,
  saveSession,
  serverUrl,
  tokenProviderFor,
  uiLocale,
  type SavedSession,
} from "./session";
import { useKeepScreen } from "./keepScreen";

interface Props {
  session: SavedSession;
  onSignOut: () => void;
}

/** Connects (from the cache: instant) and shows the chat. */
export function ChatScreen({ session, onSignOut }: Props) {
  const [error, setError] = useState<string | null>(null);
  // The first token is the remembered one (no network needed to start); when the core
  // asks again (the token was refused or expired), a fresh one comes from the dev session.
  const tokenProvider = useMemo(() => tokenProviderFor(session), [session]);
  const client = useCreateChatClient({
    serverUrl: serverUrl(),
    appId: session.appId,
    userId: session.user.id,
    tokenProvider,
    // Keep each channel's newest rows for the next reload's first paint (SnapshotScreen).
    snapshots: true,
    // A reload's client was started by the page's first script (early.ts).
    connect: connectOrTakeEarly,
    onError: (e: unknown) => setError(e instanceof Error ? e.message : String(e)),
  });

  // In the background: if the dev server was reset (a new app), this user's cache and
  // token belong to the old one; sign out. Otherwise refresh the remembered token.
  useEffect(() => {
    const abort = new AbortController();
    fetchDevSession(abort.signal).then(
      (dev) => {
        if (dev.app_id !== session.appId) {
          onSignOut();
          return;
        }
        const fresh = dev.users.find((u) => u.id === session.user.id);
        if (fresh && fresh.token !== session.user.token) {
          saveSession({ ...session, user: fresh });
        }
      },
      () => {
        // Offline or the server is down: carry on from the cache.
      },
    );
    return () => abort.abort();
  }, [session, onSignOut]);

  // The remembered channel's snapshot, read by the page's first script: painted until the
  // engine is ready, then by the message list until its first answer.
  const [snapshot] = useState(() => earlySnapshot(session));

  const getUser = useMemo(() => displayFor(session), [session]);

  if (error) {
    return (
      <div className="splash" role="alert">
        <p>Couldn't open the chat: {error}</p>
        <button type="button" className="onyx-button" onClick={onSignOut}>
          Sign out
        </button>
      </div>
    );
  }
  if (!client && snapshot) {
    return (
      <TranslationProvider locale={uiLocale()}>
        <SnapshotScreen
          session={session}
          title={loadChannelTitle(session, snapshot.cid) ?? snapshot.cid}
          items={snapshot.items}
          getUser={getUser}
        />
      </TranslationProvider>
    );
  }
  if (!client) {
    return (
      <div className="splash" data-testid="opening">
        <span className="brand-mark" aria-hidden="true" /> Opening…
      </div>
    );
  }
  return (
    <ChatProvider client={client} getUser={getUser} locale={uiLocale()}>
      <ChatLayout client={client} session={session} onSignOut={onSignOut} snapshot={snapshot} />
    </ChatProvider>
  );
}

function ChatLayout({
  client,
  session,
  onSignOut,
  snapshot,
}: Props & { client: ChatClient; snapshot: { cid: string; items: MessageItem[] } | undefined }) {
  const [showArchived, setShowArchived] = useState(false);
  const query = useMemo(() => (showArchived ? ({ archived: "include" } as const) : undefined), [showArchived]);
  const { channels, ready } = useChannelList(query);
  const [cid, setCid] = useState<string | null>(() => loadChannel(session));
  // The next reload's first paint: this channel's snapshot screen, kept when the page hides.
  useKeepScreen(session, cid);
  // The start's snapshot is for the first list of its channel only (not after a switch).
  const [firstList, setFirstList] = useState(true);
  const [threadParent, setThreadParent] = useState<MessageItem | null>(null);
  const [quoting, setQuoting] = useState<MessageItem | null>(null);
  const [showMembers, setShowMembers] = useState(false);
  const [creating, setCreating] = useState(false);

  // Open the first channel when none is remembered (or the remembered one is gone).
  useEffect(() => {
    if (!ready || channels.length === 0) return;
    if (!cid || !channels.some((c) => c.channel.cid === cid)) {
      setCid(channels[0]!.channel.cid);
    }
  }, [ready, channels, cid]);

  useEffect(() => saveChannel(session, cid), [session, cid]);

  const select = useCallback((next: string) => {
    setFirstList(false);
    setCid(next);
    setThreadParent(null);
    setShowMembers(false);
    setCreating(false);
  }, []);
  const openThread = useCallback((item: MessageItem) => {
    setShowMembers(false);
    setThreadParent(item);
  }, []);

  const current = channels.find((c) => c.channel.cid === cid);
  const title = current ? channelName(current) : null;
  useEffect(() => {
    if (cid && title) saveChannelTitle(session, cid, title);
  }, [session, cid, title]);
  // Until the channel list has loaded: the remembered title (as the first paint showed).
  const remembered = useMemo(() => (cid ? loadChannelTitle(session, cid) : null), [session, cid]);

  return (
    <div className={`app ${threadParent || (showMembers && cid) ? "app--thread" : ""}`}>
      <header className="app__header">
        <h1 className="app__brand">
          <span className="brand-mark" aria-hidden="true" />
          OnyxChat
        </h1>
        <div className="app__status">
          <ConnectionDot />
          <OutboxBadge />
          <UnreadBadge />
          <StorageBadge client={client} />
        </div>
        <div className="app__me">
          <Avatar id={session.user.id} name={session.user.name} size={28} />
          <span className="app__me-name" data-testid="current-user">
            {session.user.name}
          </span>
          <button type="button" className="onyx-button" data-testid="sign-out" onClick={onSignOut}>
            Sign out
          </button>
        </div>
      </header>
      <ConnectionBanner />
      <div className="app__body">
        <aside className="app__sidebar" aria-label="Channels and people">
          <div className="app__sidebar-head">
            <span>Channels</span>
            <button
              type="button"
              className="onyx-icon-button"
              title="New channel"
              aria-label="New channel"
              data-testid="new-channel"
              onClick={() => setCreating((c) => !c)}
            >
              +
            </button>
          </div>
          {creating ? (
            <NewChannel session={session} onCreated={select} onCancel={() => setCreating(false)} />
          ) : null}
          <Search onSelect={(hit) => select(hit.message.cid)} className="app__search" />
          <label className="app__archived-toggle">
            <input
              type="checkbox"
              checked={showArchived}
              data-testid="show-archived"
              onChange={(e) => setShowArchived(e.target.checked)}
            />{" "}
            Show archived
          </label>
          <ChannelList
            selectedCid={cid}
            onSelect={select}
            className="app__channels"
            {...(query ? { query } : {})}
          />
          <People session={session} />
        </aside>
        <main className="app__channel">
          {cid ? (
            <>
              <div className="app__channel-head">
                <h2>{title ?? remembered ?? cid}</h2>
                {current ? (
                  <button
                    type="button"
                    className="app__channel-meta app__members-toggle"
                    aria-expanded={showMembers}
                    data-testid="members-toggle"
                    onClick={() => {
                      setThreadParent(null);
                      setShowMembers((s) => !s);
                    }}
                  >
                    {current.channel.memberCount} member{current.channel.memberCount === 1 ? "" : "s"}
                  </button>
                ) : null}
                {current ? (
                  <>
                    <button
                      type="button"
                      className="onyx-button app__channel-action"
                      data-testid="mute-toggle"
                      aria-pressed={current.muted}
                      onClick={() => void client.muteChannel(current.channel.cid, !current.muted)}
                    >
                      {current.muted ? "Unmute" : "Mute"}
                    </button>
                    <button
                      type="button"
                      className="onyx-button app__channel-action"
                      data-testid="archive-toggle"
                      aria-pressed={current.archived}
                      onClick={() => void client.archiveChannel(current.channel.cid, !current.archived)}
                    >
                      {current.archived ? "Unarchive" : "Archive"}
                    </button>
                  </>
                ) : null}
              </div>
              <MessageList
                key={cid}
                cid={cid}
                onOpenThread={openThread}
                onQuote={setQuoting}
                firstPaint
                {...(firstList && snapshot?.cid === cid ? { snapshot: snapshot.items } : {})}
              />
              <TypingIndicator cid={cid} />
              <MessageInput
                key={`input-${cid}`}
                cid={cid}
                autoFocus
                quoting={quoting?.message.cid === cid ? quoting : null}
                onQuoteEnd={() => setQuoting(null)}
              />
            </>
          ) : (
            <div className="app__no-channel">{ready ? "Pick or create a channel." : "Loading…"}</div>
          )}
        </main>
        {threadParent ? (
          <aside className="app__thread" aria-label="Thread panel">
            <Thread
              key={threadParent.message.id}
              parent={threadParent}
              onClose={() => setThreadParent(null)}
            />
          </aside>
        ) : showMembers && cid ? (
          <aside className="app__thread" aria-label="Members panel">
            {/* Any member may try; the server lets moderators and above add people. */}
            <MemberList key={cid} cid={cid} allowAdd />
          </aside>
        ) : null}
      </div>
    </div>
  );
}

function ConnectionDot() {
  const state = useConnectionState();
  const label =
    state.type === "connected"
      ? "Online"
      : state.type === "connecting" || state.type === "waiting_to_reconnect"
        ? "Connecting"
        : "Offline";
  return (
    <span className={`status-pill status-pill--${state.type}`} title={state.type}>
      <span className="status-pill__dot" aria-hidden="true" />
      {label}
    </span>
  );
}

/** The total unread over the channels not muted: a badge, and the tab's title. */
function UnreadBadge() {
  const { unreadCount } = useTotalUnread();
  useEffect(() => {
    document.title = unreadCount > 0 ? `(${unreadCount}) OnyxChat` : "OnyxChat";
  }, [unreadCount]);
  return (
    <span className="status-pill" title="Unread messages in channels you have not muted">
      Unread <span data-testid="total-unread" data-count={unreadCount}>{unreadCount}</span>
    </span>
  );
}

function OutboxBadge() {
  const outbox = useOutbox();
  const failed = outbox.filter((o) => o.state.state === "failed").length;
  const n = outbox.length;
  return (
    <span
      className={`status-pill ${n > 0 ? "status-pill--queued" : ""} ${failed > 0 ? "status-pill--failed" : ""}`}
      title={n > 0 ? `${n} change(s) waiting to reach the server${failed ? `, ${failed} failed` : ""}` : "Everything is delivered"}
    >
      Outbox <span data-testid="outbox-count" data-count={n}>{n}</span>
    </span>
  );
}

function StorageBadge({ client }: { client: ChatClient }) {
  const persistent = client.storage === "opfs";
  return (
    <span
      className={`status-pill ${persistent ? "status-pill--opfs" : "status-pill--memory"}`}
      data-testid="storage"
      data-storage={client.storage}
      title={client.storageNote ?? (persistent ? "Cached in the Origin Private File System" : "Kept in memory only")}
    >
      {persistent ? "OPFS" : "Memory"}
    </span>
  );
}

function People({ session }: { session: SavedSession }) {
  const online = usePresence();
  const others = session.people.filter((p) => p.id !== session.user.id);
  return (
    <div className="people">
      <div className="app__sidebar-head">
        <span>People</span>
      </div>
      <ul className="people__list">
        {others.map((p) => {
          const on = online.includes(p.id);
          return (
            <li key={p.id} className="people__item" data-testid={`person-${p.id}`} data-online={on}>
              <Avatar id={p.id} name={p.name} size={24} />
              <span>{p.name}</span>
              <span className={`people__dot ${on ? "people__dot--on" : ""}`} title={on ? "online" : "offline"} />
            </li>
          );
        })}
      </ul>
    </div>
  );
}
