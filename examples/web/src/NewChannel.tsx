import { useChatClient } from "@onyxchat/react";
import { useState, type FormEvent } from "react";
import type { SavedSession } from "./session";

type Mode = "direct" | "group";

/**
 * Starts a conversation with some of the demo users (works offline too):
 * - a direct message with one person: a distinct channel, the same one whoever of the two
 *   opens it (its cid is derived from the pair), its members fixed;
 * - a named group with any of them: a new channel with a generated id.
 */
export function NewChannel({
  session,
  onCreated,
  onCancel,
}: {
  session: SavedSession;
  onCreated: (cid: string) => void;
  onCancel: () => void;
}) {
  const client = useChatClient();
  const [mode, setMode] = useState<Mode>("direct");
  const [name, setName] = useState("");
  const [members, setMembers] = useState<string[]>([]);
  const [peer, setPeer] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const others = session.people.filter((p) => p.id !== session.user.id);
  const ready = mode === "direct" ? peer !== null : name.trim() !== "";

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!ready) return;
    setError(null);
    const created =
      mode === "direct"
        ? client.openDistinctChannel([peer!], "messaging", directName(session, peer!))
        : client.createChannel({ type: "messaging", name: name.trim(), members });
    created.then(onCreated, (err: unknown) => setError(err instanceof Error ? err.message : String(err)));
  };

  return (
    <form className="new-channel" onSubmit={submit} data-testid="new-channel-form">
      <div className="new-channel__modes" role="radiogroup" aria-label="Conversation type">
        {(["direct", "group"] as const).map((m) => (
          <label key={m}>
            <input
              type="radio"
              name="new-channel-mode"
              checked={mode === m}
              data-testid={`new-channel-mode-${m}`}
              onChange={() => setMode(m)}
            />
            {m === "direct" ? "Direct message" : "Group"}
          </label>
        ))}
      </div>
      {mode === "group" ? (
        <input
          className="new-channel__name"
          placeholder="Group name"
          value={name}
          autoFocus
          data-testid="new-channel-name"
          onChange={(e) => setName(e.target.value)}
        />
      ) : null}
      <fieldset className="new-channel__members">
        <legend>{mode === "direct" ? "With" : "Members"}</legend>
        {others.map((p) =>
          mode === "direct" ? (
            <label key={p.id}>
              <input
                type="radio"
                name="new-channel-peer"
                checked={peer === p.id}
                data-testid={`new-channel-peer-${p.id}`}
                onChange={() => setPeer(p.id)}
              />
              {p.name}
            </label>
          ) : (
            <label key={p.id}>
              <input
                type="checkbox"
                checked={members.includes(p.id)}
                onChange={(e) =>
                  setMembers((m) => (e.target.checked ? [...m, p.id] : m.filter((id) => id !== p.id)))
                }
              />
              {p.name}
            </label>
          ),
        )}
      </fieldset>
      {error ? (
        <p className="new-channel__error" role="alert">
          {error}
        </p>
      ) : null}
      <div className="new-channel__actions">
        <button type="button" className="onyx-button" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" className="onyx-button onyx-button--primary" disabled={!ready}>
          {mode === "direct" ? "Open" : "Create"}
        </button>
      </div>
    </form>
  );
}

/** The same name whoever of the two opens the conversation first: both first names, sorted. */
function directName(session: SavedSession, peer: string): string {
  const first = (id: string) => (session.people.find((p) => p.id === id)?.name ?? id).split(" ")[0];
  return [first(session.user.id), first(peer)].sort().join(" & ");
}
