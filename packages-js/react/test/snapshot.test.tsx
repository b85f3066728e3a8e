import { act, render, screen, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { MessageList, MessageListSnapshot, type MessageItem } from "../src/index.js";
import { createFakeClient, message } from "./fakeClient.js";
import { renderWithClient, withResizeObserver } from "./render.js";

/**
 * The first-paint snapshot in the message list: painted (same rows, inert) until the
 * live list's first answer, then handed over in place to the live rows; and
 * `MessageListSnapshot`, the same paint before there is a client.
 */

const cid = "messaging:general";
const layer = () => document.querySelector<HTMLElement>("[data-first-paint]");
const addressed = (id: string) => document.querySelectorAll(`[data-message-id="${id}"]`);

function remembered(): MessageItem[] {
  return [
    message({ id: "s1", text: "kept as it was" }),
    message({ id: "s2", text: "edited while away" }),
    message({ id: "s3", text: "deleted while away", userId: "alice" }),
  ];
}

describe("the message list's snapshot", () => {
  // jsdom has none; the first paint only runs where Virtuoso can measure.
  withResizeObserver();

  it("paints the snapshot's rows until the first answer, then the live rows in place", async () => {
    const fake = createFakeClient("alice");
    const snapshot = remembered();
    renderWithClient(<MessageList cid={cid} firstPaint snapshot={snapshot} />, fake);

    // The remembered rows, addressable once each, inert, in the first paint's layer.
    const shown = layer();
    expect(shown).not.toBeNull();
    expect(shown!.hasAttribute("data-snapshot")).toBe(true);
    expect(shown!.hasAttribute("inert")).toBe(true);
    for (const item of snapshot) expect(addressed(item.message.id)).toHaveLength(1);
    expect(screen.getByTestId("message-s2").textContent).toContain("edited while away");
    expect(screen.getByTestId("message-list").dataset.ready).toBe("false");
    // Assistive technology hears that the log is loading, not the inert rows.
    expect(screen.getByTestId("message-list").getAttribute("aria-busy")).toBe("true");
    const keptRow = screen.getByTestId("message-s1");

    // The live answer: s2 edited, s3 deleted, s4 new while away.
    const live = [
      snapshot[0]!,
      message({ id: "s2", text: "the edited text", editedAt: new Date() }),
      message({ id: "s4", text: "new while away" }),
    ];
    act(() => fake.messageStore(cid).set(live));

    // The same layer, now live (not inert), corrected; the row still there kept its node.
    expect(layer()).toBe(shown);
    expect(shown!.hasAttribute("data-snapshot")).toBe(false);
    expect(shown!.hasAttribute("inert")).toBe(false);
    expect(screen.getByTestId("message-list").hasAttribute("aria-busy")).toBe(false);
    expect(screen.getByTestId("message-s1")).toBe(keptRow);
    await waitFor(() => {
      for (const id of ["s1", "s2", "s4"]) expect(addressed(id)).toHaveLength(1);
    });
    expect(addressed("s3")).toHaveLength(0);
    expect(screen.getByTestId("message-s2").textContent).toContain("the edited text");
    expect(screen.queryByText("edited while away")).toBeNull();
  });

  it("gives way to the empty state or an error when the live list has no rows", () => {
    const fake = createFakeClient("alice");
    renderWithClient(<MessageList cid={cid} firstPaint snapshot={remembered()} />, fake);
    expect(layer()).not.toBeNull();
    act(() => fake.messageStore(cid).set([]));
    expect(layer()).toBeNull();
    expect(addressed("s1")).toHaveLength(0);
    expect(screen.getByText(/No messages yet/)).toBeTruthy();
  });

  it("is opt-in: without firstPaint (or with no rows) the list shows its loading state", () => {
    const fake = createFakeClient("alice");
    const { unmount } = renderWithClient(<MessageList cid={cid} snapshot={remembered()} />, fake);
    expect(layer()).toBeNull();
    expect(addressed("s1")).toHaveLength(0);
    unmount();
    renderWithClient(<MessageList cid={cid} firstPaint snapshot={[]} />, fake);
    expect(layer()).toBeNull();
  });

  it("MessageListSnapshot paints the same markup with no client, inert", () => {
    const snapshot = remembered();
    const fake = createFakeClient("alice");
    const getUser = (id: string) => ({ name: id === "alice" ? "Alice" : "Bob" });
    const { container: listed, unmount } = renderWithClient(
      <MessageList cid={cid} firstPaint snapshot={snapshot} />,
      fake,
      { getUser },
    );
    const expected = listed.querySelector("[data-testid='message-list']")!.outerHTML;
    unmount();

    // No ChatProvider at all: the same HTML.
    const { container } = render(<MessageListSnapshot items={snapshot} userId="alice" getUser={getUser} />);
    expect(container.querySelector("[data-testid='message-list']")!.outerHTML).toBe(expected);
    expect(layer()!.hasAttribute("inert")).toBe(true);
    expect(screen.getAllByText("Bob").length).toBeGreaterThan(0);
  });

  it("MessageListSnapshot renders nothing without rows", () => {
    const { container } = render(<MessageListSnapshot items={[]} userId="alice" />);
    expect(container.innerHTML).toBe("");
  });
});
