// The page's first script: small on purpose. It starts the remembered user's engine (a
// worker fetching and compiling the wasm, then opening the cache) and only then loads
// React and the app, which download and start meanwhile.
import "./boot";
import { connectEarly } from "./early";

connectEarly();
void import("./root");
