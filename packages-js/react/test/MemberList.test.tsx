import { act, fireEvent, screen, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { MemberList, type MemberItem } from "../src/index.js";
import { createFakeClient } from "./fakeClient.js";
import { renderWithClient } from "./render.js";

const member = (userId: string, over: Partial<MemberItem> = {}): MemberItem => ({
  userId,
  role: "member",
  joinedAt: new Date(0),
  online: false,
  lastReadMessageId: null,
  lastReadAt: null,
  pending: false,
  ...over,
});

describe("MemberList", () => {
  it("shows names, presence, roles above member and not-yet-confirmed changes", () => {
    const fake = createFakeClient("alice");
    renderWithClient(<MemberList cid="team:crew" />, fake, {
      getUser: (id) => (id === "bob" ? { name: "Bob Marley" } : undefined),
    });
    act(() =>
      fake.memberStore("team:crew").set([
        member("alice", { role: "owner", online: true }),
        member("bob", { role: "moderator", pending: true }),
        member("carol", { joinedAt: null, pending: true }),
      ]),
    );
    const rows = screen.getAllByRole("listitem");
    expect(rows.map((r) => r.getAttribute("data-user"))).toEqual(["alice", "bob", "carol"]);
    expect(rows[0]!.textContent).toContain("Owner");
    expect(screen.getAllByRole("img", { name: "Online" })).toHaveLength(1);
    expect(screen.getAllByRole("img", { name: "Offline" })).toHaveLength(2);
    expect(rows[1]!.textContent).toContain("Bob Marley");
    expect(rows[1]!.textContent).toContain("Moderator");
    expect(rows[1]!.textContent).toContain("Not confirmed yet");
    expect(rows[2]!.textContent).not.toContain("Moderator");
    expect(screen.queryByRole("textbox", { name: "Add member" })).toBeNull();
  });

  it("adds a member through the client and shows a refusal", async () => {
    const fake = createFakeClient("alice");
    renderWithClient(<MemberList cid="team:crew" allowAdd />, fake);
    const input = screen.getByRole("textbox", { name: "Add member" });
    const add = screen.getByRole("button", { name: "Add" });
    expect(add).toHaveProperty("disabled", true);
    fireEvent.change(input, { target: { value: " carol " } });
    fireEvent.click(add);
    await waitFor(() => expect(fake.client.addMembers).toHaveBeenCalledWith("team:crew", ["carol"]));
    await waitFor(() => expect((input as HTMLInputElement).value).toBe(""));

    fake.client.addMembers.mockRejectedValueOnce(new Error("invalid user id"));
    fireEvent.change(input, { target: { value: "bad/id" } });
    fireEvent.click(add);
    expect((await screen.findByRole("alert")).textContent).toContain("invalid user id");
  });
});
