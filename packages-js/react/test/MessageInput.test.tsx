import { act, fireEvent, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { MessageInput } from "../src/index.js";
import { createFakeClient } from "./fakeClient.js";
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
});
