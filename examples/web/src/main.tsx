// The page's first script: small on purpose. It starts the remembered user's engine (a
// worker fetching and compiling the wasm, then opening the cache) and only then loads
// React and the app, which download and start meanwhile.
import "./boot";
// The styles load with the page (not with the React chunk): the kept snapshot screen
// painted by the first script (screenCache.ts) needs them.
import "@onyxchat/react/theme.css";
import "./styles.css";
import { connectEarly } from "./early";

connectEarly();
void import("./root");
