import { Avatar } from "@onyxchat/react";
import { useEffect, useState } from "react";
import { fetchDevSession, sessionFor, type DevSession, type SavedSession } from "./session";

export function SignIn({ onSignIn }: { onSignIn: (session: SavedSession) => void }) {
  const [dev, setDev] = useState<DevSession | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const abort = new AbortController();
    setError(null);
    fetchDevSession(abort.signal).then(setDev, (e: unknown) => {
      if (!abort.signal.aborted) setError(e instanceof Error ? e.message : String(e));
    });
    return () => abort.abort();
  }, [attempt]);

  return (
    <main className="sign-in">
      <div className="sign-in__card">
        <div className="sign-in__brand">
          <span className="brand-mark" aria-hidden="true" />
          <h1>OnyxChat</h1>
        </div>
        <p className="sign-in__lead">Offline-first chat demo. Pick a user to sign in as:</p>
        {error ? (
          <div className="sign-in__error" role="alert">
            <p>{error}</p>
            <button type="button" className="onyx-button" onClick={() => setAttempt((n) => n + 1)}>
              Try again
            </button>
          </div>
        ) : !dev ? (
          <p className="sign-in__loading">Loading the demo users…</p>
        ) : (
          <ul className="sign-in__users">
            {dev.users.map((user) => (
              <li key={user.id}>
                <button
                  type="button"
                  className="sign-in__user"
                  data-testid={`sign-in-${user.id}`}
                  onClick={() => onSignIn(sessionFor(dev, user))}
                >
                  <Avatar id={user.id} name={user.name} size={40} />
                  <span className="sign-in__user-text">
                    <strong>{user.name}</strong>
                    <span>@{user.id}</span>
                  </span>
                </button>
              </li>
            ))}
          </ul>
        )}
        <p className="sign-in__hint">
          Open a private window as another user to chat with yourself. Stop the server or the
          network: messages queue and go out when it is back.
        </p>
      </div>
    </main>
  );
}
