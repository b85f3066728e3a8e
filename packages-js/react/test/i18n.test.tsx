import { act, render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import {
  ChannelList,
  ConnectionBanner,
  MessageInput,
  MessageList,
  TranslationProvider,
  createTranslator,
  de,
  en,
  useTranslation,
  type Translations,
} from "../src/index.js";
import { channel, createFakeClient, message } from "./fakeClient.js";
import { renderWithClient } from "./render.js";

// TypeScript enforces complete tables: `tsc -p tsconfig.json` (run by `npm test`) fails
// if this stops being an error.
// @ts-expect-error a table missing keys is not a Translations
const incomplete: Translations = { channels: "Kanäle" };
void incomplete;

const placeholders = (entry: string | Record<string, string>) =>
  [...new Set((typeof entry === "string" ? [entry] : Object.values(entry)).flatMap((s) => s.match(/\{\w+\}/g) ?? []))].sort();

describe("translations", () => {
  it("de has every key of en, of the same kind, with the same placeholders", () => {
    expect(Object.keys(de).sort()).toEqual(Object.keys(en).sort());
    for (const key of Object.keys(en) as (keyof typeof en)[]) {
      const source = en[key];
      const german = de[key];
      expect(typeof german, key).toBe(typeof source);
      if (typeof german !== "string") expect(german.other, key).toBeTruthy();
      expect(placeholders(german), key).toEqual(placeholders(source));
    }
  });

  it("picks plural forms by Intl.PluralRules and formats numbers for the locale", () => {
    const english = createTranslator("en");
    expect(english.t("replies", { count: 1 })).toBe("1 reply");
    expect(english.t("replies", { count: 0 })).toBe("0 replies");
    expect(english.t("replies", { count: 1234 })).toBe("1,234 replies");
    const german = createTranslator("de");
    expect(german.t("replies", { count: 1 })).toBe("1 Antwort");
    expect(german.t("replies", { count: 1234 })).toBe("1.234 Antworten");
    expect(german.t("typingTwo", { first: "Ana", second: "Ben" })).toBe("Ana und Ben schreiben…");
    // A language not shipped falls back to English.
    expect(createTranslator("fr").t("send")).toBe("Send");
    expect(createTranslator("de-AT").t("send")).toBe("Senden");
  });

  it("formats times with the locale's Intl.DateTimeFormat", () => {
    const now = new Date(2026, 10, 23, 18, 0);
    const today = new Date(2026, 10, 23, 14, 5).toISOString();
    expect(createTranslator("de").formatTime(today, now)).toBe("14:05");
    expect(createTranslator("en-US").formatTime(today, now)).toBe("02:05 PM");
    const earlier = new Date(2026, 10, 20, 9, 30);
    const weekday = new Intl.DateTimeFormat("de", { weekday: "short" }).format(earlier);
    expect(createTranslator("de").formatTime(earlier.toISOString(), now)).toBe(`${weekday} 09:30`);
  });

  it("renders the components in German with locale=\"de\"", () => {
    const fake = createFakeClient("alice");
    fake.channelStore().set([
      channel("team:general", { name: "Allgemein", unreadCount: 1 }),
      channel("team:random", { name: "Zufall", unreadCount: 5 }),
    ]);
    fake.connection.set({ type: "waiting_for_network" });
    renderWithClient(
      <>
        <ConnectionBanner />
        <ChannelList selectedCid="team:general" />
        <MessageList cid="messaging:general" virtuosoProps={{ initialTopMostItemIndex: 0 }} />
        <MessageInput cid="messaging:general" />
      </>,
      fake,
      { locale: "de" },
    );
    act(() => fake.messageStore("messaging:general").set([message({ id: "x", replyCount: 3 })]));
    expect(screen.getByRole("listbox", { name: "Kanäle" })).toBeTruthy();
    expect(screen.getByText("1 ungelesene Nachricht")).toBeTruthy();
    expect(screen.getByText("5 ungelesene Nachrichten")).toBeTruthy();
    expect(screen.getByRole("status", { name: "" }).textContent).toContain("Du bist offline.");
    expect(screen.getByRole("log", { name: "Nachrichten" })).toBeTruthy();
    expect(screen.getByRole("textbox", { name: "Nachricht" }).getAttribute("placeholder")).toBe("Nachricht schreiben…");
    expect(screen.getByRole("button", { name: "Senden" })).toBeTruthy();
    expect(screen.queryByText(/^Send$|unread message|You are offline|^Messages$/)).toBeNull();
  });

  it("takes the app's own wording over the built-in table", () => {
    const fake = createFakeClient("alice");
    renderWithClient(<MessageInput cid="messaging:general" />, fake, {
      locale: "de",
      translations: { send: "Abschicken" },
    });
    expect(screen.getByRole("button", { name: "Abschicken" })).toBeTruthy();
    expect(screen.getByRole("textbox", { name: "Nachricht" })).toBeTruthy();
  });

  it("reads an enclosing TranslationProvider, English without one", () => {
    function Label() {
      const { t, locale } = useTranslation();
      return <span>{`${locale}:${t("send")}`}</span>;
    }
    render(
      <>
        <TranslationProvider locale="de">
          <Label />
        </TranslationProvider>
        <Label />
      </>,
    );
    expect(screen.getByText("de:Senden")).toBeTruthy();
    expect(screen.getByText("en:Send")).toBeTruthy();
  });
});
