// The first module the page runs (imported first by main.tsx): marks when the page's
// script starts, for the web benchmark's start-up breakdown (tests/web/bench.mjs).
performance.mark("demo:script-start");
