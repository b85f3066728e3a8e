import { act, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState } from "react";
import { describe, expect, it, vi } from "vitest";
import { ChannelList, ConnectionBanner, MessageInput, MessageList, Thread } from "../src/index.js";
import { channel, createFakeClient, message } from "./fakeClient.js";
import { renderWithClient } from "./render.js";

const cid = "messaging:general";

function channels() {
  const fake = createFakeClient("alice");
  fake.channelStore().set([
    channel("team:general", { name: "General", unreadCount: 3 }),
    channel("team:random", { name: "Random" }),
    channel("team:design", { name: "Design", unreadMentions: 1, unreadCount: 1 }),
  ]);
  return fake;
}

describe("ChannelList accessibility", () => {
  it("is a named listbox of named options with the selected state and spelled-out unread counts", () => {
    renderWithClient(<ChannelList selectedCid="team:random" />, channels());
    const list = screen.getByRole("listbox", { name: "Channels" });
    const options = within(list).getAllByRole("option");
    expect(options.map((o) => o.getAttribute("aria-selected"))).toEqual(["false", "true", "false"]);
    expect(screen.getByRole("option", { name: /^Random\b/, selected: true })).toBeTruthy();
    // The badges' digits are hidden; the counts are spelled out instead.
    expect(screen.getByRole("option", { name: /^General\b.* 3 unread messages$/ })).toBeTruthy();
    expect(screen.getByRole("option", { name: /^Design\b.*1 mention 1 unread message$/ })).toBeTruthy();
  });

  it("moves with arrows, Home and End, keeps one Tab stop, and opens with Enter", async () => {
    const user = userEvent.setup();
    const fake = channels();
    function App() {
      const [selected, setSelected] = useState<string | null>("team:random");
      return (
        <>
          <button type="button">before</button>
          <ChannelList selectedCid={selected} onSelect={(c) => setSelected(c)} />
          <button type="button">after</button>
        </>
      );
    }
    renderWithClient(<App />, fake);
    const option = (name: string) => screen.getByRole("option", { name: new RegExp(`^${name}\\b`) });
    screen.getByRole("button", { name: "before" }).focus();
    await user.tab();
    expect(document.activeElement).toBe(option("Random")); // the selected row is the Tab stop
    await user.keyboard("{ArrowDown}");
    expect(document.activeElement).toBe(option("Design"));
    await user.keyboard("{ArrowDown}"); // stays at the end
    expect(document.activeElement).toBe(option("Design"));
    await user.keyboard("{Home}");
    expect(document.activeElement).toBe(option("General"));
    await user.keyboard("{End}");
    expect(document.activeElement).toBe(option("Design"));
    await user.keyboard("{ArrowUp}");
    expect(document.activeElement).toBe(option("Random"));
    await user.keyboard("{ArrowUp}");
    expect(document.activeElement).toBe(option("General"));
    // Moving the focus does not open; Enter does.
    expect(option("Random").getAttribute("aria-selected")).toBe("true");
    await user.keyboard("{Enter}");
    expect(screen.getByRole("option", { name: /^General\b/, selected: true })).toBeTruthy();
    // One Tab stop: Tab leaves the list.
    await user.tab();
    expect(document.activeElement).toBe(screen.getByRole("button", { name: "after" }));
    await user.tab({ shift: true });
    expect(document.activeElement).toBe(option("General"));
  });
});

describe("MessageList, composer, thread and banner accessibility", () => {
  it("shows messages as labelled articles in a named log", () => {
    const fake = createFakeClient("alice");
    renderWithClient(<MessageList cid={cid} virtuosoProps={{ initialTopMostItemIndex: 0 }} />, fake, {
      getUser: (id) => (id === "bob" ? { name: "Bob" } : undefined),
    });
    act(() =>
      fake.messageStore(cid).set([message({ id: "a", text: "hi" }), message({ id: "b", text: "yo", userId: "alice" })]),
    );
    const log = screen.getByRole("log", { name: "Messages" });
    const articles = within(log).getAllByRole("article");
    expect(articles).toHaveLength(2);
    expect(articles[0]!.getAttribute("aria-label")).toMatch(/^Bob, \S/);
    expect(articles[1]!.getAttribute("aria-label")).toMatch(/^You, \S/);
    expect(within(articles[0]!).getByRole("toolbar", { name: "Message actions" })).toBeTruthy();
  });

  it("makes each message's actions one toolbar Tab stop with arrow keys inside", async () => {
    const user = userEvent.setup();
    const fake = createFakeClient("alice");
    renderWithClient(
      <MessageList cid={cid} onOpenThread={() => {}} virtuosoProps={{ initialTopMostItemIndex: 0 }} />,
      fake,
    );
    act(() => fake.messageStore(cid).set([message({ id: "own", text: "mine", userId: "alice" })]));
    const toolbar = screen.getByRole("toolbar", { name: "Message actions" });
    const buttons = within(toolbar).getAllByRole("button");
    expect(buttons.map((b) => b.getAttribute("aria-label"))).toEqual([
      "Add reaction",
      "Star message",
      "Reply in thread",
      "Edit message",
      "Delete message",
    ]);
    expect(buttons.map((b) => b.tabIndex)).toEqual([0, -1, -1, -1, -1]);
    expect(buttons[1]!.getAttribute("aria-pressed")).toBe("false");
    buttons[0]!.focus();
    await user.keyboard("{ArrowRight}");
    expect(document.activeElement).toBe(buttons[1]);
    await user.keyboard("{End}");
    expect(document.activeElement).toBe(buttons[4]);
    await user.keyboard("{ArrowRight}"); // wraps
    expect(document.activeElement).toBe(buttons[0]);
    await user.keyboard("{ArrowLeft}{ArrowLeft}");
    expect(document.activeElement).toBe(buttons[3]);
    // The Tab stop follows the last one used.
    expect(within(toolbar).getAllByRole("button").map((b) => b.tabIndex)).toEqual([-1, -1, -1, 0, -1]);
  });

  it("keeps the focus in the labelled composer after sending by Enter or by the named button", async () => {
    const user = userEvent.setup();
    const fake = createFakeClient("alice");
    renderWithClient(<MessageInput cid={cid} />, fake);
    const box = screen.getByRole("textbox", { name: "Message" });
    await user.click(box);
    await user.keyboard("one{Shift>}{Enter}{/Shift}two{Enter}");
    expect(fake.client.sendMessage).toHaveBeenCalledWith(cid, "one\ntwo");
    expect(document.activeElement).toBe(box);
    await user.type(box, "three");
    await user.click(screen.getByRole("button", { name: "Send" }));
    expect(fake.client.sendMessage).toHaveBeenLastCalledWith(cid, "three");
    expect(document.activeElement).toBe(box);
  });

  it("closes the thread on Escape (not while editing) and gives the focus back to its opener", async () => {
    const user = userEvent.setup();
    const fake = createFakeClient("alice");
    const root = message({ id: "root", text: "question", replyCount: 1 });
    fake.messageStore(cid).set([root]);
    fake.threadStore("root").set([message({ id: "r1", text: "mine", parentId: "root", userId: "alice" })]);
    const onClose = vi.fn();
    function App() {
      const [open, setOpen] = useState(false);
      return (
        <>
          <button type="button" onClick={() => setOpen(true)}>
            open thread
          </button>
          {open ? (
            <Thread
              parent={root}
              onClose={() => {
                onClose();
                setOpen(false);
              }}
            />
          ) : null}
        </>
      );
    }
    renderWithClient(<App />, fake);
    const opener = screen.getByRole("button", { name: "open thread" });
    await user.click(opener);
    const region = screen.getByRole("region", { name: "Thread" });
    const reply = within(region).getByRole("textbox", { name: "Reply in thread" });
    expect(document.activeElement).toBe(reply); // autoFocus

    // Escape while editing a reply cancels the edit only.
    await user.click(within(region).getByRole("button", { name: "Edit message" }));
    const edit = within(region).getByRole("textbox", { name: "Edit message" });
    expect(document.activeElement).toBe(edit);
    await user.keyboard("{Escape}");
    expect(within(region).queryByRole("textbox", { name: "Edit message" })).toBeNull();
    expect(onClose).not.toHaveBeenCalled();

    reply.focus();
    await user.keyboard("{Escape}");
    expect(onClose).toHaveBeenCalledTimes(1);
    expect(screen.queryByRole("region", { name: "Thread" })).toBeNull();
    expect(document.activeElement).toBe(opener);
  });

  it("gives the focus back to the opener's replacement when a list re-rendered its row", async () => {
    const user = userEvent.setup();
    const fake = createFakeClient("alice");
    const root = message({ id: "root", text: "question", replyCount: 1 });
    fake.threadStore("root").set([]);
    function Row({ copy }: { copy: number }) {
      return (
        <article data-message-id="root" key={copy}>
          <button type="button" data-tool="reply">
            reply {copy}
          </button>
        </article>
      );
    }
    function App() {
      const [open, setOpen] = useState(false);
      // A new element for the same row while the thread is open (as a virtualized list, or
      // the first-paint layer giving way, does).
      const [copy, setCopy] = useState(1);
      return (
        <>
          <div onClick={() => setOpen(true)}>
            <Row key={copy} copy={copy} />
          </div>
          <button type="button" onClick={() => setCopy((c) => c + 1)}>
            re-render
          </button>
          {open ? <Thread parent={root} onClose={() => setOpen(false)} /> : null}
        </>
      );
    }
    renderWithClient(<App />, fake);
    await user.click(screen.getByRole("button", { name: "reply 1" }));
    const region = screen.getByRole("region", { name: "Thread" });
    const box = within(region).getByRole("textbox", { name: "Reply in thread" });
    await user.click(screen.getByRole("button", { name: "re-render" }));
    expect(screen.queryByRole("button", { name: "reply 1" })).toBeNull();
    box.focus();
    await user.keyboard("{Escape}");
    expect(screen.queryByRole("region", { name: "Thread" })).toBeNull();
    expect(document.activeElement).toBe(screen.getByRole("button", { name: "reply 2" }));
  });

  it("announces the connection in a status region with a named reconnect button", () => {
    const fake = createFakeClient("alice");
    fake.connection.set({ type: "waiting_to_reconnect", attempt: 2, retryInMs: 1000 });
    renderWithClient(<ConnectionBanner />, fake);
    const status = screen.getByRole("status");
    expect(status.textContent).toContain("Reconnecting in 1 second…");
    expect(within(status).getByRole("button", { name: "Reconnect now" })).toBeTruthy();
  });
});
