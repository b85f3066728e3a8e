import { render, type RenderOptions } from "@testing-library/react";
import type { ReactElement, ReactNode } from "react";
import { afterEach, beforeEach } from "vitest";
import { VirtuosoMockContext } from "react-virtuoso";
import { ChatProvider, type ChatProviderProps } from "../src/index.js";
import type { FakeClient } from "./fakeClient.js";

/** Renders inside a ChatProvider, with Virtuoso given a layout (jsdom has none). */
export function renderWithClient(
  ui: ReactElement,
  fake: FakeClient,
  providerProps: Omit<ChatProviderProps, "client" | "children"> = {},
  options?: RenderOptions,
) {
  const Wrapper = ({ children }: { children?: ReactNode }) => (
    <VirtuosoMockContext.Provider value={{ viewportHeight: 2000, itemHeight: 50 }}>
      <ChatProvider client={fake.client} {...providerProps}>
        {children}
      </ChatProvider>
    </VirtuosoMockContext.Provider>
  );
  return render(ui, { wrapper: Wrapper, ...options });
}

/**
 * Gives the tests of the enclosing `describe` a no-op `ResizeObserver` where the
 * environment has none (jsdom), as Virtuoso and the first paint need one to measure.
 */
export function withResizeObserver(): void {
  const had = "ResizeObserver" in globalThis;
  beforeEach(() => {
    if (!had) {
      (globalThis as { ResizeObserver?: unknown }).ResizeObserver = class {
        observe() {}
        unobserve() {}
        disconnect() {}
      };
    }
  });
  afterEach(() => {
    if (!had) delete (globalThis as { ResizeObserver?: unknown }).ResizeObserver;
  });
}

