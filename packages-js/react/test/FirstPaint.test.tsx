import { act, render, screen, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { FIRST_PAINT_ROWS, FirstPaintRows, useFirstPaint } from "../src/components/FirstPaint.js";
import type { MessageItem } from "../src/index.js";
import { message } from "./fakeClient.js";
import { withResizeObserver } from "./render.js";

/**
 * The message list's first paint, driven without Virtuoso: a stand-in scroller whose item
 * list is hidden (as Virtuoso's first pass is) and then shown, as the tests say.
 */
function Harness({
  items,
  ready = false,
  initialTopMostItemIndex,
}: {
  items: MessageItem[];
  ready?: boolean;
  initialTopMostItemIndex?: number;
}) {
  const firstPaint = useFirstPaint(items.length > 0, ready && items.length === 0, initialTopMostItemIndex);
  const row = (_index: number, item: MessageItem) => (
    <div data-testid={`message-${item.message.id}`} data-message-id={item.message.id}>
      {item.message.text}
    </div>
  );
  return (
    <div>
      {firstPaint.active ? <FirstPaintRows items={items} renderItem={row} layerRef={firstPaint.layerRef} /> : null}
      <div ref={firstPaint.scrollerRef} data-testid="scroller">
        <div data-testid="virtuoso-item-list" style={{ visibility: "hidden" }} />
      </div>
    </div>
  );
}

const layer = () => document.querySelector("[data-first-paint]");
const itemList = () => screen.getByTestId("virtuoso-item-list");

/** What Virtuoso does in its hidden pass: renders the rows (still hidden). */
function virtuosoRenders(items: MessageItem[]) {
  for (const [i, item] of items.entries()) {
    const wrapper = document.createElement("div");
    wrapper.setAttribute("data-index", String(i));
    const row = document.createElement("div");
    row.setAttribute("data-testid", `message-${item.message.id}`);
    row.setAttribute("data-message-id", item.message.id);
    wrapper.append(row);
    itemList().append(wrapper);
  }
}

describe("the message list's first paint", () => {
  // jsdom has none; the first paint only runs where Virtuoso can measure.
  withResizeObserver();

  it("shows the newest rows while Virtuoso's list is hidden, then gives way to it", async () => {
    const items = Array.from({ length: FIRST_PAINT_ROWS + 5 }, (_, i) => message({ text: `row ${i}` }));
    render(<Harness items={items} />);
    // The newest FIRST_PAINT_ROWS only, addressable by their test ids.
    expect(layer()).not.toBeNull();
    expect(layer()!.querySelectorAll("[data-message-id]").length).toBe(FIRST_PAINT_ROWS);
    expect(screen.getAllByTestId(`message-${items.at(-1)!.message.id}`)).toHaveLength(1);
    expect(screen.queryByTestId(`message-${items[0]!.message.id}`)).toBeNull();

    // Virtuoso's hidden rows arrive: the layer's stay the addressable ones (never two at once).
    act(() => virtuosoRenders(items));
    await waitFor(() => expect(itemList().querySelector("[data-message-id]")).toBeNull());
    expect(itemList().querySelectorAll("[data-index]")).toHaveLength(items.length);
    expect(screen.getAllByTestId(`message-${items.at(-1)!.message.id}`)).toHaveLength(1);
    expect(layer()!.querySelectorAll("[data-message-id]").length).toBe(FIRST_PAINT_ROWS);

    // Virtuoso shows its list: the layer goes, and Virtuoso's rows are addressable again.
    act(() => {
      itemList().style.visibility = "";
    });
    await waitFor(() => expect(layer()).toBeNull());
    expect(itemList().querySelectorAll("[data-message-id]")).toHaveLength(items.length);
    expect(screen.getAllByTestId(`message-${items[0]!.message.id}`)).toHaveLength(1);
  });

  it("shows nothing until there are rows", () => {
    render(<Harness items={[]} />);
    expect(layer()).toBeNull();
  });

  it("is over once the first answer was empty: a later message is no first paint", async () => {
    // A new channel: the list answered with no rows, then a message is sent.
    const { rerender } = render(<Harness items={[]} ready />);
    await act(async () => {});
    rerender(<Harness items={[message({ text: "the first message" })]} ready />);
    expect(layer()).toBeNull();
    // While the first answer is awaited, rows arriving are the first paint.
    const { unmount } = render(<Harness items={[]} />);
    unmount();
    render(<Harness items={[message({ text: "from the cache" })]} />);
    expect(layer()).not.toBeNull();
  });

  it("is off when the list starts elsewhere (initialTopMostItemIndex) or cannot measure", () => {
    const items = [message({ text: "one" })];
    const { unmount } = render(<Harness items={items} initialTopMostItemIndex={0} />);
    expect(layer()).toBeNull();
    unmount();
    delete (globalThis as { ResizeObserver?: unknown }).ResizeObserver;
    render(<Harness items={items} />);
    expect(layer()).toBeNull();
  });
});
