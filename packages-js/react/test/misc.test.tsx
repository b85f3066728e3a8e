import { act, fireEvent, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { ConnectionBanner, Thread, TypingIndicator, typingText } from "../src/index.js";
import { createFakeClient, message } from "./fakeClient.js";
import { renderWithClient } from "./render.js";

const cid = "messaging:general";

describe("TypingIndicator", () => {
  it("names the others typing in the channel, not the user nor thread typers", () => {
    const fake = createFakeClient("alice");
    renderWithClient(<TypingIndicator cid={cid} />, fake, {
      getUser: (id) => ({ name: id === "bob" ? "Bob" : "Carol" }),
    });
    const el = screen.getByTestId("typing-indicator");
    expect(el.dataset.active).toBe("false");
    expect(el.textContent).toBe("");
    act(() =>
      fake.typingStore(cid).set([
        { userId: "alice", parentId: null },
        { userId: "bob", parentId: null },
        { userId: "carol", parentId: "p1" },
      ]),
    );
    expect(el.dataset.active).toBe("true");
    expect(el.textContent).toBe("Bob is typing…");
  });

  it("words several typers", () => {
    expect(typingText(["A", "B"])).toBe("A and B are typing…");
    expect(typingText(["A", "B", "C", "D"])).toBe("Several people are typing…");
  });
});

describe("ConnectionBanner", () => {
  it("reflects the connection state and reconnects on demand", () => {
    const fake = createFakeClient();
    renderWithClient(<ConnectionBanner />, fake);
    const el = screen.getByTestId("connection-state");
    expect(el.dataset.state).toBe("connected");
    expect(el.textContent).toBe("");
    act(() => fake.connection.set({ type: "waiting_to_reconnect", attempt: 1, retryInMs: 4000 }));
    expect(el.dataset.state).toBe("waiting_to_reconnect");
    expect(el.textContent).toContain("Reconnecting in 4 seconds");
    fireEvent.click(screen.getByRole("button", { name: "Reconnect now" }));
    expect(fake.client.reconnect).toHaveBeenCalled();
    act(() => fake.connection.set({ type: "waiting_for_network" }));
    expect(el.textContent).toContain("offline");
  });
});

describe("Thread", () => {
  it("shows the live root, the replies, and replies with parentId", async () => {
    const user = userEvent.setup();
    const fake = createFakeClient("alice");
    const root = message({ id: "root", text: "the question", replyCount: 1 });
    fake.messageStore(cid).set([root]);
    const onClose = vi.fn();
    renderWithClient(<Thread parent={root} onClose={onClose} autoFocus={false} />, fake);
    expect(screen.getByTestId("thread").textContent).toContain("the question");
    act(() => fake.threadStore("root").set([message({ id: "r1", text: "an answer", parentId: "root" })]));
    expect(screen.getByTestId("message-r1").textContent).toContain("an answer");
    // The root's live copy: a new reply count shows without a new `parent` prop.
    act(() => fake.messageStore(cid).set([{ ...root, message: { ...root.message, replyCount: 2 } }]));
    expect(screen.getByTestId("thread").textContent).toContain("2 replies");
    // No nested thread actions inside a thread.
    expect(screen.queryByTestId("reply-root")).toBeNull();

    await user.type(screen.getByTestId("message-input"), "me too{Enter}");
    expect(fake.client.sendMessage).toHaveBeenCalledWith(cid, { text: "me too", parentId: "root" });
    fireEvent.click(screen.getByTestId("thread-close"));
    expect(onClose).toHaveBeenCalled();
  });
});
