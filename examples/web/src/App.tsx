import { useCallback, useLayoutEffect, useRef, useState } from "react";
import { ChatScreen } from "./ChatScreen";
import { forgetSnapshots } from "./early";
import { clearSession, loadSession, saveSession, type SavedSession } from "./session";
import { SignIn } from "./SignIn";

export function App() {
  // A remembered user goes straight to the chat (from the cache, no network needed).
  const [session, setSession] = useState<SavedSession | null>(loadSession);
  const current = useRef(session);
  current.current = session;
  // React's first commit (the start-up breakdown of tests/web/bench.mjs).
  useLayoutEffect(() => void performance.mark("demo:app-committed"), []);

  const signIn = useCallback((s: SavedSession) => {
    saveSession(s);
    setSession(s);
  }, []);

  const signOut = useCallback(() => {
    // Unmounting the chat screen closes its client (useCreateChatClient); the user's
    // first-paint snapshots go now (the SDK writes none for them after this).
    if (current.current) forgetSnapshots(current.current);
    setSession(null);
    clearSession();
  }, []);

  return session ? (
    <ChatScreen key={`${session.appId}/${session.user.id}`} session={session} onSignOut={signOut} />
  ) : (
    <SignIn onSignIn={signIn} />
  );
}
