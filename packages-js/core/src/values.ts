// The one place where the engine's output values become the SDK's public shapes. The
// engine (chat-wasm) hands over chat-core's serde shapes — the wire format's snake_case
// names and RFC 3339 time strings (declared as `Wire*` in the generated chat_wasm.d.ts);
// the page's end of the protocol (`rpc.ts`) passes every call result and live query
// delivery through `fromEngineCall` / `fromEngineSub`, which rename the fields to
// camelCase and turn times into `Date`s (docs/value-shapes.md). Only our own field names
// are renamed: app-defined JSON (attachments, channel `custom`) and maps keyed by data
// (reaction counts) pass through untouched. Union tags (`type`, `op`, `state`) keep their
// case names.

import type {
  Channel,
  ChannelItem,
  Draft,
  TotalUnread,
  ConnectionState,
  EngineStatus,
  Failure,
  ListDiff,
  Message,
  MessageItem,
  MessageState,
  OutboxItem,
  MemberItem,
  QuotedPreview,
  ReadReceipt,
  SearchHit,
  SearchPage,
  SearchServerPart,
  TextRange,
  TypingUser,
} from "./types.js";

type Wire = Record<string, unknown>;

const date = (v: unknown): Date => new Date(v as string);
const dateOrNull = (v: unknown): Date | null => (v == null ? null : date(v));

/** `snake_case` → `camelCase`. */
export function camel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** An object of our own fields with its keys camelCased (one level; values kept). */
function camelKeys(o: Wire): Wire {
  const out: Wire = {};
  for (const [k, v] of Object.entries(o)) out[camel(k)] = v;
  return out;
}

function channel(c: Wire): Channel {
  const config = c.config as Wire;
  return {
    cid: c.cid,
    type: c.type,
    id: c.id,
    name: c.name ?? null,
    image: c.image ?? null,
    config: {
      reactions: config.reactions,
      replies: config.replies,
      typingEvents: config.typing_events,
      custom: config.custom,
    },
    createdBy: c.created_by,
    createdAt: date(c.created_at),
    updatedAt: date(c.updated_at),
    lastMessageAt: dateOrNull(c.last_message_at),
    memberCount: c.member_count,
    distinct: c.distinct,
    rev: c.rev,
  } as Channel;
}

function message(m: Wire): Message {
  return {
    id: m.id,
    cid: m.cid,
    userId: m.user_id,
    text: m.text,
    attachments: m.attachments,
    parentId: m.parent_id ?? null,
    quotedMessageId: m.quoted_message_id ?? null,
    mentionedUsers: m.mentioned_users,
    reactionCounts: m.reaction_counts,
    replyCount: m.reply_count,
    createdAt: date(m.created_at),
    updatedAt: date(m.updated_at),
    editedAt: dateOrNull(m.edited_at),
    deletedAt: dateOrNull(m.deleted_at),
    rev: m.rev,
  } as Message;
}

function failure(f: Wire): Failure {
  return { reason: f.reason, code: f.code ?? null, status: f.status } as Failure;
}

function messageState(s: Wire): MessageState {
  if (s.type === "failed" || s.type === "update_failed") {
    return { type: s.type, opId: s.op_id, failure: failure(s.failure as Wire) } as MessageState;
  }
  return { type: s.type } as MessageState;
}

function quotedPreview(q: Wire): QuotedPreview {
  if (q.type === "message") {
    return {
      type: "message",
      id: q.id,
      userId: q.user_id,
      text: q.text,
      attachmentCount: q.attachment_count,
      createdAt: date(q.created_at),
      deleted: q.deleted,
    } as QuotedPreview;
  }
  return { type: q.type, id: q.id } as QuotedPreview;
}

function messageItem(i: Wire): MessageItem {
  return {
    message: message(i.message as Wire),
    state: messageState(i.state as Wire),
    ownReactions: i.own_reactions,
    starred: i.starred,
    quoted: i.quoted == null ? null : quotedPreview(i.quoted as Wire),
  } as MessageItem;
}

function channelItem(i: Wire): ChannelItem {
  return {
    channel: channel(i.channel as Wire),
    unreadCount: i.unread_count,
    unreadMentions: i.unread_mentions,
    lastMessage: i.last_message == null ? null : messageItem(i.last_message as Wire),
    hidden: i.hidden ?? false,
    muted: i.muted ?? false,
    archived: i.archived ?? false,
  } as ChannelItem;
}

function readReceipt(r: Wire): ReadReceipt {
  return {
    userId: r.user_id,
    lastReadMessageId: r.last_read_message_id ?? null,
    lastReadAt: date(r.last_read_at),
  } as ReadReceipt;
}

function memberItem(m: Wire): MemberItem {
  return {
    userId: m.user_id,
    role: m.role,
    joinedAt: m.joined_at == null ? null : date(m.joined_at),
    online: m.online,
    lastReadMessageId: m.last_read_message_id ?? null,
    lastReadAt: m.last_read_at == null ? null : date(m.last_read_at),
    pending: m.pending,
  } as MemberItem;
}

function typingUser(t: Wire): TypingUser {
  return { userId: t.user_id, parentId: t.parent_id ?? null } as TypingUser;
}

function connectionState(s: Wire): ConnectionState {
  return camelKeys(s) as unknown as ConnectionState;
}

function outboxItem(o: Wire): OutboxItem {
  const op = camelKeys(o.op as Wire);
  if (op.request && typeof op.request === "object") op.request = camelKeys(op.request as Wire);
  const state = o.state as Wire;
  const detail = state.detail;
  return {
    opId: o.op_id,
    op,
    state:
      state.state === "failed"
        ? { state: "failed", detail: failure(detail as Wire) }
        : detail === undefined
          ? { state: state.state }
          : { state: state.state, detail },
  } as OutboxItem;
}

function diffs<T>(item: (w: Wire) => T): (payload: unknown) => ListDiff<T>[] {
  return (payload) =>
    (payload as Wire[]).map((d) => {
      if (d.type === "reset") return { type: "reset", items: (d.items as Wire[]).map(item) };
      if (d.type === "remove") return { type: "remove", index: d.index as number };
      return { type: d.type, index: d.index, item: item(d.item as Wire) } as ListDiff<T>;
    });
}

const SUBS: Record<string, (payload: unknown) => unknown> = {
  messages: diffs(messageItem),
  thread: diffs(messageItem),
  starred: diffs(messageItem),
  channels: diffs(channelItem),
  channelList: diffs(channelItem),
  totalUnread: (p) => camelKeys(p as Wire) as unknown as TotalUnread,
  readReceipts: diffs(readReceipt),
  members: diffs(memberItem),
  typing: (p) => (p as Wire[]).map(typingUser),
  connection: (p) => connectionState(p as Wire),
  outbox: (p) => (p as Wire[]).map(outboxItem),
};

function searchHit(h: Wire): SearchHit {
  return {
    message: message(h.message as Wire),
    highlights: (h.highlights as Wire[]).map((r) => ({ start: r.start, end: r.end }) as TextRange),
    local: h.local,
    pending: h.pending,
  } as SearchHit;
}

function searchPage(p: Wire): SearchPage {
  return {
    hits: (p.hits as Wire[]).map(searchHit),
    server: p.server as SearchServerPart,
    next: p.next ?? null,
  } as SearchPage;
}

const CALLS: Record<string, (value: unknown) => unknown> = {
  draft: (v) => {
    const d = v as Wire;
    return { cid: d.cid, parentId: d.parent_id ?? null, text: d.text, updatedAt: date(d.updated_at) } as Draft;
  },
  mentionCandidates: (v) => (v as Wire[]).map(memberItem),
  search: (v) => searchPage(v as Wire),
  searchLocal: (v) => (v as Wire[]).map(searchHit),
  outbox: (v) => (v as Wire[]).map(outboxItem),
  status: (v) => camelKeys(v as Wire) as unknown as EngineStatus,
  connectionState: (v) => connectionState(v as Wire),
};

/** A live query's delivery (of the protocol's `kind`) in the public shape. */
export function fromEngineSub(kind: string, payload: unknown): unknown {
  const convert = SUBS[kind];
  return convert ? convert(payload) : payload;
}

/** A call's result (of the protocol's `method`) in the public shape. */
export function fromEngineCall(method: string, value: unknown): unknown {
  const convert = CALLS[method];
  return convert && value != null ? convert(value) : value;
}
