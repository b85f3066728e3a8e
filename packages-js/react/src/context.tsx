import { createContext, useContext, useMemo, useRef, type ReactNode } from "react";
import type { ChatComponents } from "./components/types.js";
import { TranslationProvider } from "./i18n/context.js";
import type { Translations } from "./i18n/en.js";
import type { ChatClientLike, UserDisplay } from "./types.js";

/** A reaction the default UI offers: its `kind` (sent to the server) and how it looks. */
export interface ReactionOption {
  kind: string;
  emoji: string;
  /** Its name for assistive technology (default: the translation of a built-in kind, else `kind`). */
  label?: string;
}

/** The default reactions offered by the message actions (named by the translations). */
export const DEFAULT_REACTIONS: readonly ReactionOption[] = [
  { kind: "like", emoji: "👍" },
  { kind: "love", emoji: "❤️" },
  { kind: "haha", emoji: "😂" },
  { kind: "wow", emoji: "😮" },
  { kind: "sad", emoji: "😢" },
];

export interface ChatContextValue {
  client: ChatClientLike;
  /** Resolves a user id to a display name and picture (the core knows ids only). */
  getUser: (userId: string) => UserDisplay | undefined;
  /** App-wide component overrides (per-component `components` props win). */
  components: Partial<ChatComponents>;
  reactions: readonly ReactionOption[];
  /** Where failed UI actions (retry, reactions, edits…) are reported. */
  onError: (error: unknown, action: string) => void;
}

const ChatContext = createContext<ChatContextValue | null>(null);

export interface ChatProviderProps {
  client: ChatClientLike;
  children?: ReactNode;
  /** Names and avatars for user ids (e.g. from your user directory). */
  getUser?: (userId: string) => UserDisplay | undefined;
  /** Component overrides for every OnyxChat component below. */
  components?: Partial<ChatComponents>;
  /** The reactions offered in message actions (default: like, love, haha, wow, sad). */
  reactions?: readonly ReactionOption[];
  /** Called when a UI action's call fails (default: `console.error`). */
  onError?: (error: unknown, action: string) => void;
  /**
   * The components' language and formats (BCP 47, e.g. `"de"`; built-in: `en`, `de`).
   * Without `locale` and `translations`, an enclosing `TranslationProvider` (else English)
   * applies.
   */
  locale?: string;
  /** Your own texts over the built-in ones (some keys, or a whole table for a new language). */
  translations?: Partial<Translations>;
}

const defaultOnError = (error: unknown, action: string) => {
  console.error(`OnyxChat: ${action} failed`, error);
};
const noUser = (): undefined => undefined;
const noComponents: Partial<ChatComponents> = {};

/** Makes a client (and app-wide UI options) available to the hooks and components. */
export function ChatProvider({
  client,
  children,
  getUser = noUser,
  components = noComponents,
  reactions = DEFAULT_REACTIONS,
  onError = defaultOnError,
  locale,
  translations,
}: ChatProviderProps) {
  const value = useMemo<ChatContextValue>(
    () => ({ client, getUser, components, reactions, onError }),
    [client, getUser, components, reactions, onError],
  );
  const tree = (
    <ChatContext.Provider value={value}>
      <ComponentsContext.Provider value={components}>{children}</ComponentsContext.Provider>
    </ChatContext.Provider>
  );
  return locale !== undefined || translations !== undefined ? (
    <TranslationProvider locale={locale ?? "en"} translations={translations}>
      {tree}
    </TranslationProvider>
  ) : (
    tree
  );
}

/** The whole chat context (client and UI options); throws outside a `ChatProvider`. */
export function useChatContext(): ChatContextValue {
  const value = useContext(ChatContext);
  if (!value) {
    throw new Error("OnyxChat: this hook or component must be used inside <ChatProvider client={…}>");
  }
  return value;
}

/** The chat context, or null outside a `ChatProvider` (for components that work without one). */
export function useOptionalChatContext(): ChatContextValue | null {
  return useContext(ChatContext);
}

/** The client given to the nearest `ChatProvider`. */
export function useChatClient(): ChatClientLike {
  return useChatContext().client;
}

/** The component overrides in effect below a point of the tree. */
const ComponentsContext = createContext<Partial<ChatComponents>>(noComponents);

/** Keeps the previous object while the new one has the same keys and values. */
function useShallowStable<T extends object>(value: T | undefined): T | undefined {
  const ref = useRef(value);
  const prev = ref.current;
  if (prev !== value) {
    const same =
      !!prev &&
      !!value &&
      Object.keys(prev).length === Object.keys(value).length &&
      Object.entries(value).every(([k, v]) => (prev as Record<string, unknown>)[k] === v);
    if (!same) ref.current = value;
  }
  return ref.current;
}

/**
 * The components in effect: `local` (a component's `components` prop) over the ones of
 * the enclosing components and the provider. Pair with `ComponentsProvider` to pass the
 * result down to nested default components.
 */
export function useComponentOverrides(
  local?: Partial<ChatComponents>,
): Partial<ChatComponents> {
  const inherited = useContext(ComponentsContext);
  const stable = useShallowStable(local);
  return useMemo(() => (stable ? { ...inherited, ...stable } : inherited), [inherited, stable]);
}

/** Makes component overrides apply to every default component below. */
export function ComponentsProvider({
  components,
  children,
}: {
  components: Partial<ChatComponents>;
  children?: ReactNode;
}) {
  return <ComponentsContext.Provider value={components}>{children}</ComponentsContext.Provider>;
}
