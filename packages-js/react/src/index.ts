export {
  ChatProvider,
  ComponentsProvider,
  DEFAULT_REACTIONS,
  useChatClient,
  useChatContext,
  useComponentOverrides,
  type ChatContextValue,
  type ChatProviderProps,
  type ReactionOption,
} from "./context.js";
export {
  useChannelList,
  useConnectionState,
  useLiveStore,
  useMessages,
  useMembers,
  useOutbox,
  usePresence,
  useReadReceipts,
  useStarred,
  useStoreState,
  useThread,
  useTotalUnread,
  useTyping,
  useUser,
  type ChannelListState,
  type TotalUnreadState,
  type MessagesState,
  type StarredState,
  type StoreState,
  type ThreadState,
} from "./hooks.js";
export { Avatar, EmptyState, LoadingIndicator } from "./components/basics.js";
export { ChannelList, ChannelPreview, channelName, type ChannelListProps } from "./components/ChannelList.js";
export { ConnectionBanner, type ConnectionBannerProps } from "./components/ConnectionBanner.js";
export { Message, MessageStatus, ReactionList, isFailed } from "./components/Message.js";
export { MessageInput, type MessageInputProps } from "./components/MessageInput.js";
export {
  FIRST_ITEM_INDEX,
  MessageList,
  shiftedFirstIndex,
  useFirstItemIndex,
  type MessageListProps,
} from "./components/MessageList.js";
export { MessageListSnapshot, type MessageListSnapshotProps } from "./components/MessageListSnapshot.js";
export { Thread, type ThreadProps } from "./components/Thread.js";
export { TypingIndicator, typingText, type TypingIndicatorProps } from "./components/TypingIndicator.js";
export { MemberList, type MemberListProps } from "./components/MemberList.js";
export { Search, highlighted, type SearchProps } from "./components/Search.js";
export { useSearch, type SearchState, type UseSearchOptions } from "./useSearch.js";
export type {
  AvatarProps,
  ChannelPreviewProps,
  ChatComponents,
  EmptyStateProps,
  LoadingIndicatorProps,
  MessageProps,
  MessageRenderContext,
  MessageStatusProps,
  ReactionListProps,
  RenderMessage,
} from "./components/types.js";
export * from "./types.js";
export { cx, describeConnection, formatTime, previewText } from "./utils.js";
export {
  useCreateChatClient,
  type ClosableClient,
  type UseCreateChatClientOptions,
} from "./useCreateChatClient.js";
export {
  TranslationProvider,
  builtinTranslations,
  createTranslator,
  de,
  defaultTranslator,
  en,
  translationsFor,
  useTranslation,
  type Plural,
  type PluralKey,
  type TranslationKey,
  type TranslationProviderProps,
  type TranslationValues,
  type Translations,
  type Translator,
} from "./i18n/index.js";
