import { fireEvent, screen, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { Search, highlighted, type SearchHit } from "../src/index.js";
import type { Message } from "../src/types.js";
import { createFakeClient } from "./fakeClient.js";
import { renderWithClient } from "./render.js";

const message = (id: string, text: string): Message =>
  ({
    id,
    cid: "team:crew",
    userId: "bob",
    text,
    attachments: [],
    parentId: null,
    quotedMessageId: null,
    mentionedUsers: [],
    reactionCounts: {},
    replyCount: 0,
    createdAt: new Date(0),
    updatedAt: new Date(0),
    editedAt: null,
    deletedAt: null,
    rev: 1,
  }) as Message;

const hit = (id: string, text: string, start: number, end: number, over: Partial<SearchHit> = {}): SearchHit => ({
  message: message(id, text),
  highlights: [{ start, end }],
  local: true,
  pending: false,
  ...over,
});

describe("Search", () => {
  it("shows the local hits at once, then the merged page, matches in <mark>", async () => {
    const fake = createFakeClient("alice");
    let answer: (v: unknown) => void = () => {};
    fake.client.searchLocal.mockResolvedValue([hit("m1", "pancakes tonight", 0, 8, { pending: true })]);
    fake.client.search.mockReturnValue(
      new Promise((resolve) => {
        answer = resolve as (v: unknown) => void;
      }),
    );
    renderWithClient(<Search />, fake);
    fireEvent.change(screen.getByRole("searchbox", { name: "Search messages" }), { target: { value: "pancak" } });
    // The local hit first: highlighted, marked not sent yet.
    await waitFor(() => expect(screen.getAllByRole("listitem")).toHaveLength(1));
    expect(screen.getByText("pancakes").tagName).toBe("MARK");
    expect(screen.getByRole("listitem").textContent).toContain("Not sent yet");
    expect(fake.client.searchLocal).toHaveBeenCalledWith("pancak", { cid: undefined, limit: undefined });
    // Then the server's page adds what the cache does not hold.
    answer({
      hits: [hit("m1", "pancakes tonight", 0, 8), hit("m0", "old pancakes", 4, 12, { local: false })],
      server: { type: "answered" },
      next: null,
    });
    await waitFor(() => expect(screen.getAllByRole("listitem")).toHaveLength(2));
    expect(screen.queryByRole("status")).toBeNull();
  });

  it("says when the server was not reached (offline: local hits only)", async () => {
    const fake = createFakeClient("alice");
    fake.client.searchLocal.mockResolvedValue([hit("m1", "pancakes", 0, 8)]);
    fake.client.search.mockResolvedValue({
      hits: [hit("m1", "pancakes", 0, 8)],
      server: { type: "not_reached", reason: "offline" },
      next: "-|",
    });
    renderWithClient(<Search initialText="pancakes" />, fake);
    await waitFor(() => expect(screen.getByRole("status").textContent).toContain("Offline"));
    expect(screen.getAllByRole("listitem")).toHaveLength(1);
    expect(screen.getByRole("button", { name: "More results" })).toBeTruthy();
  });

  it("highlights by UTF-16 ranges", () => {
    const parts = highlighted("😀 café", [{ start: 3, end: 7 }]);
    expect(parts[0]).toBe("😀 ");
    expect(parts).toHaveLength(2);
  });
});
