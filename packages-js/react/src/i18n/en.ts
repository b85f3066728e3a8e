/**
 * The English strings of every OnyxChat component (the default), and the type every
 * other language's table must match key for key (`Translations`).
 *
 * `{name}` placeholders are filled by `t(key, { name })`. A plural entry has one text
 * per `Intl.PluralRules` category (`other` required); `t(key, { count })` picks one.
 */

/** One text per plural category of the locale (`Intl.PluralRules`); `other` is required. */
export type Plural = { readonly other: string } & Partial<Record<Intl.LDMLPluralRule, string>>;

export const en = {
  // Channel list
  channels: "Channels",
  conversation: "Conversation",
  noMessagesYet: "No messages yet",
  you: "You",
  previewLine: "{author}: {text}",
  unreadMessages: { one: "{count} unread message", other: "{count} unread messages" },
  unreadMentions: { one: "{count} mention", other: "{count} mentions" },
  // Empty and loading states
  emptyChannels: "No channels yet.",
  emptyMessages: "No messages yet. Say hello!",
  emptyThread: "No replies yet.",
  loading: "Loading…",
  loadingOlder: "Loading older messages…",
  // Connection
  connecting: "Connecting…",
  connectingAttempt: "Connecting… (attempt {attempt})",
  reconnectingIn: {
    one: "Connection lost. Reconnecting in {count} second…",
    other: "Connection lost. Reconnecting in {count} seconds…",
  },
  offline: "You are offline. Messages will be sent when the connection is back.",
  disconnectedRefused: "Disconnected: {reason}",
  pausedInBackground: "Paused while in the background.",
  disconnected: "Disconnected.",
  authFailed: "Sign-in expired or refused: {reason}",
  reconnectNow: "Reconnect now",
  // Previews
  mentionSuggestions: "Mention suggestions",
  quoteMessage: "Quote",
  quotingLabel: "Replying to {author}",
  cancelQuote: "Cancel the quote",
  quoteLoading: "Loading the quoted message…",
  quoteUnavailable: "The quoted message is not available",
  messageDeletedPreview: "Message deleted",
  attachmentsPreview: { one: "📎 Attachment", other: "📎 {count} attachments" },
  // Typing
  typingOne: "{name} is typing…",
  typingTwo: "{first} and {second} are typing…",
  typingThree: "{first}, {second} and {third} are typing…",
  typingMany: "Several people are typing…",
  // Delivery status
  waitingToSend: "Waiting to send…",
  sending: "Sending…",
  saving: "Saving…",
  deleting: "Deleting…",
  notSent: "Not sent",
  changeNotSaved: "Change not saved",
  failureWithReason: "{what}: {reason}",
  retry: "Retry",
  discard: "Discard",
  // Messages
  messageLabel: "{author}, {time}",
  messageDeleted: "This message was deleted.",
  edited: "(edited)",
  attachments: { one: "{count} attachment", other: "{count} attachments" },
  replies: { one: "{count} reply", other: "{count} replies" },
  reactionsLabel: "Reactions",
  removeReaction: "Remove your {reaction}",
  addReactionOf: "React with {reaction}",
  reactionCount: { one: "{reaction}: {count} reaction", other: "{reaction}: {count} reactions" },
  reactionLike: "Like",
  reactionLove: "Love",
  reactionHaha: "Haha",
  reactionWow: "Wow",
  reactionSad: "Sad",
  messageActions: "Message actions",
  addReaction: "Add reaction",
  pickReaction: "Pick a reaction",
  replyInThread: "Reply in thread",
  starMessage: "Star message",
  unstarMessage: "Unstar message",
  edit: "Edit",
  editMessage: "Edit message",
  deleteMessage: "Delete message",
  cancel: "Cancel",
  save: "Save",
  // Message list
  messages: "Messages",
  conversationStart: "This is the beginning of the conversation.",
  loadFailed: "Couldn't load the messages: {error}",
  latestMessages: "Latest messages",
  // Composer
  messagePlaceholder: "Write a message…",
  replyPlaceholder: "Reply…",
  messageInputLabel: "Message",
  replyInputLabel: "Reply in thread",
  send: "Send",
  // Thread
  thread: "Thread",
  closeThread: "Close thread",
  // Members
  members: "Members",
  memberOnline: "Online",
  memberOffline: "Offline",
  roleOwner: "Owner",
  roleAdmin: "Admin",
  roleModerator: "Moderator",
  memberPending: "Not confirmed yet",
  addMember: "Add member",
  addMemberPlaceholder: "User id",
  add: "Add",
  // Search
  search: "Search messages",
  searchPlaceholder: "Search…",
  searchNoResults: "No messages found.",
  searchOffline: "Offline: showing messages on this device only.",
  searchMore: "More results",
  searchNotSent: "Not sent yet",
} as const;

/** Every key of the component strings. */
export type TranslationKey = keyof typeof en;

/**
 * A full table of component strings: every key of `en`, plain strings where `en` has a
 * string and {@link Plural} entries where it has one. TypeScript rejects a table that
 * misses a key (or has one `en` lacks).
 */
export type Translations = {
  readonly [K in TranslationKey]: (typeof en)[K] extends string ? string : Plural;
};

/** The keys whose entry is a {@link Plural} (they need `count`). */
export type PluralKey = {
  [K in TranslationKey]: (typeof en)[K] extends string ? never : K;
}[TranslationKey];

// Checked here too, so `en` itself is a `Translations`.
const _check: Translations = en;
void _check;
