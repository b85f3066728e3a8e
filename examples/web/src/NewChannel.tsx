import { useChatClient } from "@onyxchat/react";
import { useState, type FormEvent } from "react";
import type { SavedSession } from "./session";

/** Creates a messaging channel with some of the demo users (works offline too). */
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
  const [name, setName] = useState("");
  const [members, setMembers] = useState<string[]>([]);
  const [error, setError] = useState<string | null>(null);
  const others = session.people.filter((p) => p.id !== session.user.id);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!name.trim()) return;
    setError(null);
    client
      .createChannel({ type: "messaging", name: name.trim(), members: [session.user.id, ...members] })
      .then(onCreated, (err: unknown) => setError(err instanceof Error ? err.message : String(err)));
  };

  return (
    <form className="new-channel" onSubmit={submit} data-testid="new-channel-form">
      <input
        className="new-channel__name"
        placeholder="Channel name"
        value={name}
        autoFocus
        data-testid="new-channel-name"
        onChange={(e) => setName(e.target.value)}
      />
      <fieldset className="new-channel__members">
        <legend>Members</legend>
        {others.map((p) => (
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
        ))}
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
        <button type="submit" className="onyx-button onyx-button--primary" disabled={!name.trim()}>
          Create
        </button>
      </div>
    </form>
  );
}
