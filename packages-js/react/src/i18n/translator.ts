/**
 * The translation layer: a `Translator` turns keys into the locale's text (placeholders
 * filled, plurals by `Intl.PluralRules`, numbers by `Intl.NumberFormat`) and formats
 * times with `Intl.DateTimeFormat`. No React here (see `TranslationProvider`).
 */
import { de } from "./de.js";
import { en, type Plural, type PluralKey, type TranslationKey, type Translations } from "./en.js";

/** The tables shipped with the package, by language (the locale's first subtag). */
export const builtinTranslations: Readonly<Record<string, Translations>> = { en, de };

/** Values for a text's `{placeholders}`. */
export type TranslationValues = Readonly<Record<string, string | number>>;

/** Texts of the current locale: what components call to show anything in words. */
export interface Translator {
  /** The BCP 47 locale the texts and formats are for (e.g. `"de-DE"`). */
  readonly locale: string;
  /** The table in use (built-in for the language, with the app's overrides on top). */
  readonly translations: Translations;
  /** A plain text, its `{placeholders}` filled from `values`. */
  t(key: Exclude<TranslationKey, PluralKey>, values?: TranslationValues): string;
  /** A plural text: the form for `values.count` in this locale. */
  t(key: PluralKey, values: TranslationValues & { count: number }): string;
  /** `10:23` today, `Mon 10:23` within the week, else a short date; "" for no time. */
  formatTime(value: Date | string | null | undefined, now?: Date): string;
}

function parseTime(value: Date | string | null | undefined): Date | null {
  if (!value) return null;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** The built-in table for a locale's language, English when there is none. */
export function translationsFor(locale: string): Translations {
  const language = locale.split(/[-_]/)[0]?.toLowerCase() ?? "en";
  return builtinTranslations[language] ?? en;
}

/**
 * A translator for `locale` (default `"en"`): the built-in table of its language (else
 * English), with `overrides` on top (an app's own wording, or a whole table of a
 * language not shipped).
 */
export function createTranslator(locale = "en", overrides?: Partial<Translations>): Translator {
  const translations: Translations = overrides ? { ...translationsFor(locale), ...overrides } : translationsFor(locale);
  const plural = new Intl.PluralRules(locale);
  const number = new Intl.NumberFormat(locale);
  const clock = new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit" });
  const weekday = new Intl.DateTimeFormat(locale, { weekday: "short" });
  const day = new Intl.DateTimeFormat(locale, { month: "short", day: "numeric" });

  const fill = (text: string, values?: TranslationValues) =>
    values
      ? text.replace(/\{(\w+)\}/g, (whole, name: string) => {
          const value = values[name];
          if (value === undefined) return whole;
          return typeof value === "number" ? number.format(value) : value;
        })
      : text;

  function t(key: TranslationKey, values?: TranslationValues): string {
    const entry = translations[key] as string | Plural;
    if (typeof entry === "string") return fill(entry, values);
    const count = Number(values?.count ?? 0);
    return fill(entry[plural.select(count)] ?? entry.other, values);
  }

  return {
    locale,
    translations,
    t: t as Translator["t"],
    formatTime(value, now = new Date()) {
      const date = parseTime(value);
      if (!date) return "";
      const time = clock.format(date);
      if (date.toDateString() === now.toDateString()) return time;
      const days = (now.getTime() - date.getTime()) / 86_400_000;
      if (days >= 0 && days < 6) return `${weekday.format(date)} ${time}`;
      return day.format(date);
    },
  };
}

/** The default translator (English). */
export const defaultTranslator: Translator = createTranslator("en");
