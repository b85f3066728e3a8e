import { act, fireEvent, screen } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { ChannelList } from "../src/index.js";
import { channel, createFakeClient, message } from "./fakeClient.js";
import { renderWithClient } from "./render.js";

describe("ChannelList", () => {
  it("lists what its query asks for and marks muted channels", () => {
    const fake = createFakeClient("alice");
    const query = { archived: "include", sort: "unread" } as const;
    renderWithClient(<ChannelList query={query} limit={5} />, fake);
    expect(fake.client.channels).toHaveBeenCalledWith(query);
    act(() =>
      fake.channelStore(query).set([
        channel("team:loud", { unreadCount: 4 }),
        channel("team:quiet", { unreadCount: 2, muted: true, archived: true }),
      ]),
    );
    expect(screen.getByTestId("channel-team:quiet").dataset.muted).toBe("true");
    expect(screen.getByTestId("channel-team:loud").dataset.muted).toBeUndefined();
    expect(screen.getByTestId("channel-team:quiet").className).toContain("onyx-channel-preview--muted");
  });

  it("shows channels with unread badges and last message previews", () => {
    const fake = createFakeClient("alice");
    renderWithClient(<ChannelList />, fake, {
      getUser: (id) => (id === "bob" ? { name: "Bob Marley" } : undefined),
    });
    expect(screen.getByRole("status").textContent).toContain("Loading");
    act(() =>
      fake.channelStore().set([
        channel("team:general", {
          name: "General",
          unreadCount: 3,
          unreadMentions: 1,
          lastMessage: message({ text: "hi there", userId: "bob" }),
        }),
        channel("messaging:alice-bob", {
          name: "Alice & Bob",
          lastMessage: message({ text: "see you", userId: "alice" }),
        }),
        channel("messaging:lots", { unreadCount: 150 }),
      ]),
    );
    const general = screen.getByTestId("channel-team:general");
    expect(general.textContent).toContain("General");
    expect(general.textContent).toContain("Bob: hi there");
    expect(screen.getByTestId("unread-team:general").textContent).toBe("3");
    expect(screen.getByTestId("mentions-team:general")).toBeTruthy();
    expect(screen.getByTestId("channel-messaging:alice-bob").textContent).toContain("You: see you");
    expect(screen.queryByTestId("unread-messaging:alice-bob")).toBeNull();
    expect(screen.getByTestId("unread-messaging:lots").textContent).toBe("99+");

    // Reading clears the badge.
    act(() =>
      fake.channelStore().set(
        fake
          .channelStore()
          .getSnapshot()
          .map((c) => (c.channel.cid === "team:general" ? { ...c, unreadCount: 0, unreadMentions: 0 } : c)),
      ),
    );
    expect(screen.queryByTestId("unread-team:general")).toBeNull();
  });

  it("calls onSelect and marks the selected channel", () => {
    const fake = createFakeClient();
    fake.channelStore().set([channel("team:general"), channel("messaging:b")]);
    const onSelect = vi.fn();
    const { rerender } = renderWithClient(<ChannelList onSelect={onSelect} selectedCid={null} />, fake);
    fireEvent.click(screen.getByTestId("channel-messaging:b"));
    expect(onSelect).toHaveBeenCalledWith("messaging:b", expect.objectContaining({ unreadCount: 0 }));
    rerender(<ChannelList onSelect={onSelect} selectedCid="messaging:b" />);
    expect(screen.getByRole("option", { name: /^b\b/, selected: true })).toBe(screen.getByTestId("channel-messaging:b"));
    expect(screen.getByRole("option", { name: /^general\b/, selected: false })).toBeTruthy();
  });

  it("shows the empty state and supports renderChannel", () => {
    const fake = createFakeClient();
    fake.channelStore(5).set([]);
    const { unmount } = renderWithClient(<ChannelList limit={5} />, fake);
    expect(screen.getByText("No channels yet.")).toBeTruthy();
    unmount();
    fake.channelStore().set([channel("team:x", { name: "X" })]);
    renderWithClient(
      <ChannelList renderChannel={(item, { selected }) => <b>{`${item.channel.name}:${selected}`}</b>} selectedCid="team:x" />,
      fake,
    );
    expect(screen.getByText("X:true")).toBeTruthy();
  });

  it("unsubscribes on unmount", () => {
    const fake = createFakeClient();
    const { unmount } = renderWithClient(<ChannelList />, fake);
    expect(fake.channelStore().listenerCount).toBe(1);
    unmount();
    expect(fake.channelStore().listenerCount).toBe(0);
  });
});
