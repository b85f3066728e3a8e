import type { ChatClient } from "@onyxchat/core";
import { expectTypeOf, it } from "vitest";
import type { ChatClientLike } from "../src/index.js";

// Checked by `tsc` (npm test runs it first): the real client fits the React layer.
it("a @onyxchat/core ChatClient is a ChatClientLike", () => {
  expectTypeOf<ChatClient>().toExtend<ChatClientLike>();
});
