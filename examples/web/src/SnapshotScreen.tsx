// The chat screen's first paint after a reload, before the engine is ready: the same
// frame as `ChatLayout` (header, sidebar, channel, input) with the remembered channel's
// snapshot rows in the message list's place (`MessageListSnapshot`) and the connection
// banner as the live screen starts (connecting), so the live screen replaces it without
// moving the rows. Nothing here is interactive (the rows are inert,
// the input and buttons disabled), and nothing carries the live screen's test ids.

import type { MessageItem } from "@onyxchat/core";
import { Avatar, MessageListSnapshot, describeConnection, useTranslation, type UserDisplay } from "@onyxchat/react";
import type { SavedSession } from "./session";

interface Props {
  session: SavedSession;
  /** The channel's title (as the live screen's head shows it). */
  title: string;
  items: readonly MessageItem[];
  getUser: (id: string) => UserDisplay | undefined;
}

export function SnapshotScreen({ session, title, items, getUser }: Props) {
  const translator = useTranslation();
  const { t } = translator;
  return (
    <div className="app" data-testid="snapshot-screen">
      <header className="app__header">
        <h1 className="app__brand">
          <span className="brand-mark" aria-hidden="true" />
          OnyxChat
        </h1>
        <div className="app__status" />
        <div className="app__me">
          <Avatar id={session.user.id} name={session.user.name} size={28} />
          <span className="app__me-name">{session.user.name}</span>
          <button type="button" className="onyx-button" disabled>
            Sign out
          </button>
        </div>
      </header>
      {/* As the live screen's banner starts: connecting (it hides once connected). */}
      <div className="onyx-connection-banner onyx-connection-banner--connecting" role="status">
        <span className="onyx-connection-banner__text">
          {describeConnection({ type: "connecting", attempt: 0 }, translator)}
        </span>
      </div>
      <div className="app__body">
        <aside className="app__sidebar" aria-label="Channels and people">
          <div className="app__sidebar-head">
            <span>Channels</span>
          </div>
          <div className="app__channels" />
          <div className="people">
            <div className="app__sidebar-head">
              <span>People</span>
            </div>
            <ul className="people__list">
              {session.people
                .filter((p) => p.id !== session.user.id)
                .map((p) => (
                  <li key={p.id} className="people__item">
                    <Avatar id={p.id} name={p.name} size={24} />
                    <span>{p.name}</span>
                    <span className="people__dot" />
                  </li>
                ))}
            </ul>
          </div>
        </aside>
        <main className="app__channel">
          <div className="app__channel-head">
            <h2>{title}</h2>
          </div>
          <MessageListSnapshot items={items} userId={session.user.id} getUser={getUser} onOpenThread={noop} onQuote={noop} />
          <div className="onyx-typing" />
          <form className="onyx-message-input">
            <textarea
              className="onyx-message-input__textarea"
              rows={1}
              placeholder={t("messagePlaceholder")}
              aria-label={t("messageInputLabel")}
              disabled
            />
            <button type="submit" className="onyx-button onyx-button--primary onyx-message-input__send" disabled>
              {t("send")}
            </button>
          </form>
        </main>
      </div>
    </div>
  );
}

const noop = () => undefined;

/** Names for user ids, from the session's people (the core knows ids only). */
export function displayFor(session: SavedSession): (id: string) => UserDisplay | undefined {
  const names = new Map(session.people.map((p) => [p.id, p.name]));
  return (id) => {
    const name = names.get(id);
    return name ? { name } : undefined;
  };
}
