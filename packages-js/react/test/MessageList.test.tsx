import { act, fireEvent, screen, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { MessageList, shiftedFirstIndex, type MessageProps } from "../src/index.js";
import { createFakeClient, message } from "./fakeClient.js";
import { renderWithClient } from "./render.js";

const cid = "messaging:general";

/**
 * Under VirtuosoMockContext, an initial scroll to the last item (with firstItemIndex)
 * never settles, as jsdom cannot scroll; the tests start at the top instead.
 */
const virtuosoProps = { initialTopMostItemIndex: 0 };

describe("MessageList", () => {
  it("shows loading, then the messages keyed by id with their state", () => {
    const fake = createFakeClient("alice");
    renderWithClient(<MessageList virtuosoProps={virtuosoProps} cid={cid} />, fake);
    expect(screen.getByTestId("message-list").dataset.ready).toBe("false");
    const a = message({ id: "a", text: "hello" });
    const b = message({ id: "b", text: "mine", userId: "alice" }, { type: "sending" });
    act(() => fake.messageStore(cid).set([a, b]));
    expect(screen.getByTestId("message-a").dataset.state).toBe("sent");
    expect(screen.getByTestId("message-b").dataset.state).toBe("sending");
    expect(screen.getByTestId("message-b").textContent).toContain("Sending…");
    expect(screen.getByText("hello")).toBeTruthy();
  });

  it("renders the empty state when the channel has no messages", () => {
    const fake = createFakeClient();
    act(() => fake.messageStore(cid).set([]));
    renderWithClient(<MessageList virtuosoProps={virtuosoProps} cid={cid} />, fake);
    expect(screen.getByText(/No messages yet/)).toBeTruthy();
  });

  it("shows a failed message with Retry calling client.retry(opId), and Discard", () => {
    const fake = createFakeClient("alice");
    const failed = message(
      { id: "f1", text: "did not go", userId: "alice" },
      {
        type: "failed",
        opId: "op-f1",
        failure: { reason: "channel is frozen", code: "forbidden", status: 403 },
      },
    );
    fake.messageStore(cid).set([failed]);
    renderWithClient(<MessageList virtuosoProps={virtuosoProps} cid={cid} />, fake);
    const row = screen.getByTestId("message-f1");
    expect(row.dataset.state).toBe("failed");
    expect(within(row).getByRole("alert").textContent).toContain("channel is frozen");
    fireEvent.click(within(row).getByRole("button", { name: "Retry" }));
    expect(fake.client.retry).toHaveBeenCalledWith("op-f1");
    fireEvent.click(within(row).getByRole("button", { name: "Discard" }));
    expect(fake.client.discard).toHaveBeenCalledWith("op-f1");
  });

  it("toggles reactions: adds a new one, removes the user's own", () => {
    const fake = createFakeClient("alice");
    const m = message(
      { id: "r1", reactionCounts: { like: 2, love: 1 } },
      { type: "sent" },
      { ownReactions: ["like"] },
    );
    fake.messageStore(cid).set([m]);
    renderWithClient(<MessageList virtuosoProps={virtuosoProps} cid={cid} />, fake);
    const like = screen.getByTestId("reaction-r1-like");
    expect(like.getAttribute("aria-pressed")).toBe("true");
    expect(like.textContent).toContain("2");
    fireEvent.click(like);
    expect(fake.client.removeReaction).toHaveBeenCalledWith("r1", "like");
    fireEvent.click(screen.getByTestId("reaction-r1-love"));
    expect(fake.client.addReaction).toHaveBeenCalledWith("r1", "love");
    // From the picker.
    fireEvent.click(screen.getByTestId("react-r1"));
    fireEvent.click(screen.getByTestId("react-r1-wow"));
    expect(fake.client.addReaction).toHaveBeenCalledWith("r1", "wow");
  });

  it("toggles the star: stars an unstarred message, unstars a starred one", () => {
    const fake = createFakeClient("alice");
    const plain = message({ id: "s1" });
    const starred = message({ id: "s2" }, { type: "sent" }, { starred: true });
    fake.messageStore(cid).set([plain, starred]);
    renderWithClient(<MessageList virtuosoProps={virtuosoProps} cid={cid} />, fake);
    const star = screen.getByTestId("star-s1");
    expect(star.getAttribute("aria-pressed")).toBe("false");
    expect(star.getAttribute("title")).toBe("Star message");
    fireEvent.click(star);
    expect(fake.client.starMessage).toHaveBeenCalledWith("s1");
    const unstar = screen.getByTestId("star-s2");
    expect(unstar.getAttribute("aria-pressed")).toBe("true");
    expect(unstar.getAttribute("title")).toBe("Unstar message");
    fireEvent.click(unstar);
    expect(fake.client.unstarMessage).toHaveBeenCalledWith("s2");
    expect(fake.client.starMessage).toHaveBeenCalledTimes(1);
  });

  it("shows the quoted message above a quote-reply: known, deleted, loading, unavailable", () => {
    const fake = createFakeClient("alice");
    const at = new Date("2026-11-23T09:00:00.000Z");
    const known = message({ id: "q1", quotedMessageId: "old1" }, { type: "sent" }, {
      quoted: { type: "message", id: "old1", userId: "bob", text: "the plan", attachmentCount: 0, createdAt: at, deleted: false },
    });
    const gone = message({ id: "q2", quotedMessageId: "old2" }, { type: "sent" }, {
      quoted: { type: "message", id: "old2", userId: "bob", text: "", attachmentCount: 0, createdAt: at, deleted: true },
    });
    const loading = message({ id: "q3", quotedMessageId: "old3" }, { type: "sent" }, { quoted: { type: "loading", id: "old3" } });
    const hidden = message({ id: "q4", quotedMessageId: "old4" }, { type: "sent" }, { quoted: { type: "unavailable", id: "old4" } });
    fake.messageStore(cid).set([known, gone, loading, hidden]);
    renderWithClient(<MessageList virtuosoProps={virtuosoProps} cid={cid} />, fake);
    const quote = within(screen.getByTestId("message-q1")).getByTestId("quote-old1");
    expect(quote.tagName).toBe("BLOCKQUOTE");
    expect(quote.textContent).toContain("the plan");
    expect(within(screen.getByTestId("message-q2")).getByTestId("quote-old2").textContent).toContain("Message deleted");
    expect(within(screen.getByTestId("message-q3")).getByTestId("quote-old3").textContent).toContain("Loading the quoted message");
    expect(within(screen.getByTestId("message-q4")).getByTestId("quote-old4").textContent).toContain("not available");
    expect(screen.queryByTestId("quote-none")).toBeNull();
  });

  it("renders the text as safe Markdown: formatting and clickable links, never raw HTML or scripts", () => {
    const fake = createFakeClient("alice");
    const text = [
      "**bold** and _soft_",
      "line two",
      "",
      "see https://example.com/a and [docs](https://example.com/docs)",
      "",
      '<img src=x onerror="alert(1)"> <b>raw</b> [evil](javascript:alert(1)) ![pic](https://example.com/p.png)',
    ].join("\n");
    fake.messageStore(cid).set([message({ id: "md", text })]);
    renderWithClient(<MessageList virtuosoProps={virtuosoProps} cid={cid} />, fake);
    const body = screen.getByTestId("message-text-md");
    expect(body.querySelector("strong")?.textContent).toBe("bold");
    expect(body.querySelector("em")?.textContent).toBe("soft");
    expect(body.querySelector("p")?.textContent).toContain("soft\nline two");
    const links = Array.from(body.querySelectorAll("a")).map((a) => [a.textContent, a.getAttribute("href"), a.getAttribute("rel")]);
    expect(links).toContainEqual(["https://example.com/a", "https://example.com/a", "noopener noreferrer nofollow ugc"]);
    expect(links).toContainEqual(["docs", "https://example.com/docs", "noopener noreferrer nofollow ugc"]);
    // The image is a link, not a load; the javascript: link has no target.
    expect(links).toContainEqual(["pic", "https://example.com/p.png", "noopener noreferrer nofollow ugc"]);
    expect(body.querySelector("img")).toBeNull();
    expect(body.querySelector("b")).toBeNull();
    expect(body.innerHTML).not.toContain("onerror");
    expect(body.innerHTML).not.toContain("javascript:");
    expect(Array.from(body.querySelectorAll("a")).find((a) => a.textContent === "evil")?.getAttribute("href") ?? "").toBe("");
  });

  it("offers a quote action with onQuote (not on deleted or failed messages)", () => {
    const fake = createFakeClient("alice");
    const onQuote = vi.fn();
    const plain = message({ id: "p1" });
    const gone = message({ id: "p2", deletedAt: new Date() });
    const failed = message({ id: "p3", userId: "alice" }, { type: "failed", opId: "p3", failure: { reason: "no", code: null, status: 400 } });
    fake.messageStore(cid).set([plain, gone, failed]);
    renderWithClient(<MessageList virtuosoProps={virtuosoProps} cid={cid} onQuote={onQuote} />, fake);
    fireEvent.click(screen.getByTestId("quote-action-p1"));
    expect(onQuote).toHaveBeenCalledWith(plain);
    expect(screen.queryByTestId("quote-action-p2")).toBeNull();
    expect(screen.queryByTestId("quote-action-p3")).toBeNull();
  });

  it("offers reply in thread with the reply count", () => {
    const fake = createFakeClient("alice");
    const m = message({ id: "t1", replyCount: 3 });
    fake.messageStore(cid).set([m]);
    const onOpenThread = vi.fn();
    renderWithClient(<MessageList virtuosoProps={virtuosoProps} cid={cid} onOpenThread={onOpenThread} />, fake);
    const replies = screen.getByTestId("replies-t1");
    expect(replies.textContent).toBe("3 replies");
    fireEvent.click(replies);
    expect(onOpenThread).toHaveBeenCalledWith(m);
    fireEvent.click(screen.getByTestId("reply-t1"));
    expect(onOpenThread).toHaveBeenCalledTimes(2);
  });

  it("hides thread actions without onOpenThread", () => {
    const fake = createFakeClient("alice");
    fake.messageStore(cid).set([message({ id: "t2", replyCount: 1 })]);
    renderWithClient(<MessageList virtuosoProps={virtuosoProps} cid={cid} />, fake);
    expect(screen.queryByTestId("reply-t2")).toBeNull();
    expect(screen.queryByTestId("replies-t2")).toBeNull();
  });

  it("keeps rows mounted by id when a message changes (stable keys)", () => {
    const fake = createFakeClient("alice");
    const store = fake.messageStore(cid);
    const a = message({ id: "a", userId: "alice" }, { type: "sending" });
    store.set([a]);
    renderWithClient(<MessageList virtuosoProps={virtuosoProps} cid={cid} />, fake);
    const before = screen.getByTestId("message-a");
    const b = message({ id: "b" });
    act(() => store.set([{ ...a, state: { type: "sent" } }, b]));
    const after = screen.getByTestId("message-a");
    expect(after).toBe(before);
    expect(after.dataset.state).toBe("sent");
  });

  it("loads older pages when the top is reached and prepends them", async () => {
    const fake = createFakeClient("alice");
    const store = fake.messageStore(cid);
    const older = [message({ id: "o1" }), message({ id: "o2" })];
    store.olderPages = [older];
    store.hasOlder = true;
    store.set([message({ id: "n1" }), message({ id: "n2" })]);
    renderWithClient(<MessageList virtuosoProps={virtuosoProps} cid={cid} />, fake);
    // With everything in view, Virtuoso reports the top as reached (after its 200 ms debounce).
    await vi.waitFor(() => expect(screen.getByTestId("message-o1")).toBeTruthy(), { timeout: 2000 });
    expect(store.loadOlder).toHaveBeenCalledTimes(1);
    expect(screen.getByTestId("message-n1")).toBeTruthy();
    expect(screen.getByText(/beginning of the conversation/)).toBeTruthy();
  });

  it("pages back to the newest after the window slid away from it", async () => {
    const fake = createFakeClient("alice");
    const store = fake.messageStore(cid);
    const [x, a, b, c] = [message({ id: "x" }), message({ id: "a" }), message({ id: "b" }), message({ id: "c" })];
    store.set([a, b, c]);
    renderWithClient(<MessageList virtuosoProps={virtuosoProps} cid={cid} />, fake);
    expect(screen.queryByTestId("jump-to-latest")).toBeNull();
    // An older page came in at the top and the newest left at the bottom (a full window).
    act(() => store.set([x, a, b]));
    store.loadNewer.mockImplementation(async () => {
      store.set([a, b, c]);
      return true;
    });
    fireEvent.click(screen.getByTestId("jump-to-latest"));
    await vi.waitFor(() => expect(store.loadNewer).toHaveBeenCalledTimes(1));
    await vi.waitFor(() => expect(screen.getByTestId("message-c")).toBeTruthy());
  });

  it("marks the channel read when the newest message is in view", async () => {
    const fake = createFakeClient("alice");
    fake.messageStore(cid).set([message({ id: "x" })]);
    renderWithClient(<MessageList virtuosoProps={virtuosoProps} cid={cid} />, fake);
    expect(fake.client.markRead).toHaveBeenCalledWith(cid);
    const calls = fake.client.markRead.mock.calls.length;
    const store = fake.messageStore(cid);
    // Someone else's message: read again.
    act(() => store.set([...store.getSnapshot(), message({ id: "y" })]));
    expect(fake.client.markRead.mock.calls.length).toBe(calls + 1);
    // The user's own: nothing to mark.
    act(() => store.set([...store.getSnapshot(), message({ id: "z", userId: "alice" }, { type: "pending" })]));
    expect(fake.client.markRead.mock.calls.length).toBe(calls + 1);
    // Others' messages that arrived with (before) the user's own still count.
    act(() => {
      const items = store.getSnapshot();
      store.set([...items.slice(0, -1), message({ id: "w" }), items[items.length - 1]!]);
    });
    expect(fake.client.markRead.mock.calls.length).toBe(calls + 2);
  });

  it("accepts components and renderMessage overrides", () => {
    const fake = createFakeClient("alice");
    fake.messageStore(cid).set([message({ id: "c1", text: "custom" })]);
    const Custom = ({ item, isOwn }: MessageProps) => (
      <div data-testid={`custom-${item.message.id}`}>{isOwn ? "own" : "other"}: {item.message.text}</div>
    );
    const { unmount } = renderWithClient(<MessageList virtuosoProps={virtuosoProps} cid={cid} components={{ Message: Custom }} />, fake);
    expect(screen.getByTestId("custom-c1").textContent).toBe("other: custom");
    unmount();
    renderWithClient(
      <MessageList virtuosoProps={virtuosoProps} cid={cid} renderMessage={(item) => <p data-testid="rendered">{item.message.text}!</p>} />,
      fake,
    );
    expect(screen.getByTestId("rendered").textContent).toBe("custom!");
  });

  it("uses the provider's Avatar override inside default messages", () => {
    const fake = createFakeClient("alice");
    fake.messageStore(cid).set([message({ id: "av", userId: "bob" })]);
    renderWithClient(<MessageList virtuosoProps={virtuosoProps} cid={cid} />, fake, {
      components: { Avatar: ({ name }) => <i data-testid="avatar">{name}</i> },
      getUser: (id) => (id === "bob" ? { name: "Bob Marley" } : undefined),
    });
    expect(screen.getByTestId("avatar").textContent).toBe("Bob Marley");
  });

  it("unsubscribes from its store on unmount", () => {
    const fake = createFakeClient("alice");
    const store = fake.messageStore(cid);
    store.set([message()]);
    const { unmount } = renderWithClient(<MessageList virtuosoProps={virtuosoProps} cid={cid} />, fake);
    expect(store.listenerCount).toBeGreaterThan(0);
    unmount();
    expect(store.listenerCount).toBe(0);
  });
});

describe("shiftedFirstIndex", () => {
  const [a, b, c, d] = [message({ id: "a" }), message({ id: "b" }), message({ id: "c" }), message({ id: "d" })];
  it("lowers the first index by the number of prepended items", () => {
    expect(shiftedFirstIndex([c, d], [a, b, c, d], 1000)).toBe(998);
  });
  it("raises it by the number of items dropped from the top", () => {
    expect(shiftedFirstIndex([a, b, c, d], [c, d], 1000)).toBe(1002);
  });
  it("leaves it for appends and unrelated windows", () => {
    expect(shiftedFirstIndex([a, b], [a, b, c], 1000)).toBe(1000);
    expect(shiftedFirstIndex([a, b], [c, d], 1000)).toBe(1000);
    expect(shiftedFirstIndex([], [a], 1000)).toBe(1000);
  });
});
