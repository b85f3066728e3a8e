import { act, fireEvent, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { MessageInput } from "../src/index.js";
import type { MemberItem } from "../src/index.js";
import { createFakeClient, message } from "./fakeClient.js";
import { renderWithClient } from "./render.js";

const cid = "messaging:general";

describe("MessageInput", () => {
  it("sends on Enter, clears at once, and withdraws typing", async () => {
    const user = userEvent.setup();
    const fake = createFakeClient();
    const onSent = vi.fn();
    renderWithClient(<MessageInput cid={cid} onSent={onSent} />, fake);
    const box = screen.getByTestId("message-input") as HTMLTextAreaElement;
    await user.type(box, "hello");
    expect(fake.client.startTyping).toHaveBeenCalledWith(cid, undefined);
    // Throttled: one announcement for a burst of keystrokes.
    expect(fake.client.startTyping).toHaveBeenCalledTimes(1);
    await user.keyboard("{Enter}");
    expect(fake.client.sendMessage).toHaveBeenCalledWith(cid, "hello");
    expect(box.value).toBe("");
    expect(fake.client.stopTyping).toHaveBeenCalledWith(cid, undefined);
    await vi.waitFor(() => expect(onSent).toHaveBeenCalledWith("sent-1"));
  });

  it("adds a newline on Shift+Enter instead of sending", async () => {
    const user = userEvent.setup();
    const fake = createFakeClient();
    renderWithClient(<MessageInput cid={cid} />, fake);
    const box = screen.getByTestId("message-input") as HTMLTextAreaElement;
    await user.type(box, "line 1{Shift>}{Enter}{/Shift}line 2");
    expect(fake.client.sendMessage).not.toHaveBeenCalled();
    expect(box.value).toBe("line 1\nline 2");
    await user.click(screen.getByTestId("send-button"));
    expect(fake.client.sendMessage).toHaveBeenCalledWith(cid, "line 1\nline 2");
  });

  it("does not send blank text", async () => {
    const user = userEvent.setup();
    const fake = createFakeClient();
    renderWithClient(<MessageInput cid={cid} />, fake);
    const box = screen.getByTestId("message-input");
    await user.type(box, "   {Enter}");
    expect(fake.client.sendMessage).not.toHaveBeenCalled();
    expect((screen.getByTestId("send-button") as HTMLButtonElement).disabled).toBe(true);
  });

  it("replies in a thread with parentId, typing in the thread", async () => {
    const user = userEvent.setup();
    const fake = createFakeClient();
    renderWithClient(<MessageInput cid={cid} parentId="p1" />, fake);
    await user.type(screen.getByTestId("message-input"), "reply{Enter}");
    expect(fake.client.startTyping).toHaveBeenCalledWith(cid, "p1");
    expect(fake.client.sendMessage).toHaveBeenCalledWith(cid, { text: "reply", parentId: "p1" });
    expect(fake.client.stopTyping).toHaveBeenCalledWith(cid, "p1");
  });

  it("stops typing on blur", async () => {
    const user = userEvent.setup();
    const fake = createFakeClient();
    renderWithClient(
      <>
        <MessageInput cid={cid} />
        <button type="button">elsewhere</button>
      </>,
      fake,
    );
    await user.type(screen.getByTestId("message-input"), "hi");
    expect(fake.client.stopTyping).not.toHaveBeenCalled();
    await user.click(screen.getByText("elsewhere"));
    expect(fake.client.stopTyping).toHaveBeenCalledWith(cid, undefined);
  });

  it("does not wait for the network: the box is free while the send is unresolved", async () => {
    const user = userEvent.setup();
    const fake = createFakeClient();
    fake.client.sendMessage.mockImplementation(() => new Promise<string>(() => {}));
    renderWithClient(<MessageInput cid={cid} />, fake);
    const box = screen.getByTestId("message-input") as HTMLTextAreaElement;
    await user.type(box, "one{Enter}two{Enter}");
    expect(fake.client.sendMessage).toHaveBeenCalledTimes(2);
    expect(box.disabled).toBe(false);
    expect(box.value).toBe("");
  });

  it("gives the text back when the core refuses to store it", async () => {
    const user = userEvent.setup();
    const fake = createFakeClient();
    const spy = vi.spyOn(console, "error").mockImplementation(() => {});
    fake.client.sendMessage.mockRejectedValueOnce(new Error("text too long"));
    renderWithClient(<MessageInput cid={cid} />, fake);
    const box = screen.getByTestId("message-input") as HTMLTextAreaElement;
    await user.type(box, "oops{Enter}");
    await act(async () => {});
    expect(box.value).toBe("oops");
    expect(screen.getByRole("alert").textContent).toBe("text too long");
    spy.mockRestore();
  });

  it("stops typing when unmounted mid-word", async () => {
    const fake = createFakeClient();
    const { unmount } = renderWithClient(<MessageInput cid={cid} />, fake);
    fireEvent.change(screen.getByTestId("message-input"), { target: { value: "x" } });
    expect(fake.client.startTyping).toHaveBeenCalledTimes(1);
    unmount();
    expect(fake.client.stopTyping).toHaveBeenCalledWith(cid, undefined);
  });

  describe("@ mentions", () => {
    const member = (userId: string, online = false): MemberItem => ({
      userId,
      role: "member",
      joinedAt: new Date(0),
      online,
      lastReadMessageId: null,
      lastReadAt: null,
      pending: false,
    });

    it("suggests members for the typed prefix; arrows and Enter pick; the pick is sent as a mention", async () => {
      const user = userEvent.setup();
      const fake = createFakeClient("alice");
      fake.client.mentionCandidates.mockImplementation(async (_cid: string, prefix: string) =>
        [member("bob", true), member("bella")].filter((m) => m.userId.startsWith(prefix.toLowerCase())),
      );
      renderWithClient(<MessageInput cid={cid} />, fake);
      const box = screen.getByTestId("message-input") as HTMLTextAreaElement;
      await user.type(box, "hi @b");
      const list = await screen.findByTestId("mention-suggestions");
      expect(list.getAttribute("role")).toBe("listbox");
      expect(fake.client.mentionCandidates).toHaveBeenLastCalledWith(cid, "b", 8);
      expect(box.getAttribute("role")).toBeNull(); // still a textbox
      expect(box.getAttribute("aria-controls")).toBe(list.id);
      expect(box.getAttribute("aria-activedescendant")).toBe(screen.getByTestId("mention-bob").id);
      await user.keyboard("{ArrowDown}");
      expect(screen.getByTestId("mention-bella").getAttribute("aria-selected")).toBe("true");
      expect(box.getAttribute("aria-activedescendant")).toBe(screen.getByTestId("mention-bella").id);
      await user.keyboard("{Enter}");
      expect(box.value).toBe("hi @bella ");
      expect(screen.queryByTestId("mention-suggestions")).toBeNull();
      expect(fake.client.sendMessage).not.toHaveBeenCalled();
      await user.type(box, "look");
      await user.keyboard("{Enter}");
      expect(fake.client.sendMessage).toHaveBeenCalledWith(cid, { text: "hi @bella look", mentionedUsers: ["bella"] });
    });

    it("closes on Escape, picks by click, and drops a pick the text no longer mentions", async () => {
      const user = userEvent.setup();
      const fake = createFakeClient("alice");
      fake.client.mentionCandidates.mockResolvedValue([member("bob")]);
      renderWithClient(<MessageInput cid={cid} />, fake);
      const box = screen.getByTestId("message-input") as HTMLTextAreaElement;
      await user.type(box, "@");
      await screen.findByTestId("mention-suggestions");
      await user.keyboard("{Escape}");
      expect(screen.queryByTestId("mention-suggestions")).toBeNull();
      await user.type(box, "b");
      fireEvent.mouseDown(await screen.findByTestId("mention-bob"));
      expect(box.value).toBe("@bob ");
      await user.clear(box);
      await user.type(box, "no one{Enter}");
      expect(fake.client.sendMessage).toHaveBeenCalledWith(cid, "no one");
    });

    it("offers nothing inside a word (an email address) or with mentions off", async () => {
      const user = userEvent.setup();
      const on = createFakeClient("alice");
      on.client.mentionCandidates.mockResolvedValue([member("bob")]);
      const { unmount } = renderWithClient(<MessageInput cid={cid} />, on);
      await user.type(screen.getByTestId("message-input"), "mail a@b");
      expect(on.client.mentionCandidates).not.toHaveBeenCalled();
      unmount();

      const fake = createFakeClient("alice");
      fake.client.mentionCandidates.mockResolvedValue([member("bob")]);
      renderWithClient(<MessageInput cid={cid} mentions={false} />, fake);
      const box = screen.getByTestId("message-input") as HTMLTextAreaElement;
      await user.type(box, "@b");
      expect(fake.client.mentionCandidates).not.toHaveBeenCalled();
      expect(box.getAttribute("aria-controls")).toBeNull();
      expect(box.getAttribute("aria-autocomplete")).toBeNull();
    });
  });

  it("sends a quote-reply: the quoted message above the box, sent as quotedMessageId; Escape or × cancels", async () => {
    const user = userEvent.setup();
    const fake = createFakeClient("alice");
    const quoted = message({ id: "q1", text: "the plan", userId: "bob" });
    const onQuoteEnd = vi.fn();
    const { rerender } = renderWithClient(<MessageInput cid={cid} quoting={quoted} onQuoteEnd={onQuoteEnd} />, fake);
    const bar = screen.getByTestId("quoting");
    expect(bar.textContent).toContain("the plan");
    const box = screen.getByTestId("message-input") as HTMLTextAreaElement;
    await user.type(box, "agreed{Enter}");
    expect(fake.client.sendMessage).toHaveBeenCalledWith(cid, { text: "agreed", quotedMessageId: "q1" });
    expect(onQuoteEnd).toHaveBeenCalledTimes(1);

    await user.type(box, "x");
    await user.keyboard("{Escape}");
    expect(onQuoteEnd).toHaveBeenCalledTimes(2);
    await user.click(screen.getByTestId("cancel-quote"));
    expect(onQuoteEnd).toHaveBeenCalledTimes(3);
    rerender(<MessageInput cid={cid} quoting={null} onQuoteEnd={onQuoteEnd} />);
    expect(screen.queryByTestId("quoting")).toBeNull();
  });

  it("puts the draft back, saves it after a pause and on unmount, and leaves it to the core on send", async () => {
    const user = userEvent.setup();
    const fake = createFakeClient("alice");
    const saved = new Map<string, string>([["messaging:general|", "where was I"]]);
    const client = Object.assign(fake.client, {
      draft: vi.fn(async (c: string, p?: string | null) => {
        const text = saved.get(`${c}|${p ?? ""}`);
        return text === undefined ? null : { text };
      }),
      setDraft: vi.fn(async (c: string, p: string | null, text: string) => {
        saved.set(`${c}|${p ?? ""}`, text);
      }),
    });
    const { unmount } = renderWithClient(<MessageInput cid={cid} />, { ...fake, client });
    const box = screen.getByTestId("message-input") as HTMLTextAreaElement;
    await vi.waitFor(() => expect(box.value).toBe("where was I"));
    expect(client.draft).toHaveBeenCalledWith(cid, null);
    await user.type(box, "?");
    await vi.waitFor(() => expect(client.setDraft).toHaveBeenLastCalledWith(cid, null, "where was I?"));
    await user.type(box, "!");
    unmount(); // saved at once, not lost with the pending pause
    expect(client.setDraft).toHaveBeenLastCalledWith(cid, null, "where was I?!");

    renderWithClient(<MessageInput cid={cid} />, { ...fake, client });
    const again = screen.getByTestId("message-input") as HTMLTextAreaElement;
    await vi.waitFor(() => expect(again.value).toBe("where was I?!"));
    const calls = client.setDraft.mock.calls.length;
    await user.type(again, "{Enter}");
    expect(fake.client.sendMessage).toHaveBeenCalledWith(cid, "where was I?!");
    await new Promise((r) => setTimeout(r, 500));
    expect(client.setDraft.mock.calls.length).toBe(calls); // the core deletes it with the send
  });
});
