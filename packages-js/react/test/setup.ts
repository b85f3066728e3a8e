import { cleanup } from "@testing-library/react";
import { afterEach } from "vitest";

// jsdom has no layout and no scrolling; Virtuoso scrolls (e.g. to keep the position when
// older messages are prepended), so give elements no-op scroll methods.
for (const name of ["scrollBy", "scrollTo", "scrollIntoView"] as const) {
  if (!(name in Element.prototype)) {
    Object.defineProperty(Element.prototype, name, { value() {}, writable: true, configurable: true });
  }
}

afterEach(() => {
  cleanup();
});
