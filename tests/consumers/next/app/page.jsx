// A Server Component: it imports a client component from @onyxchat/react directly (which
// works because the package's modules start with "use client") and the app's own client
// component, which connects in an effect.
import { ConnectionBanner } from "@onyxchat/react";
import { Chat } from "./Chat.jsx";

export default function Page() {
  return (
    <main>
      <h1>OnyxChat on Next.js</h1>
      <Chat>
        <ConnectionBanner />
      </Chat>
    </main>
  );
}
