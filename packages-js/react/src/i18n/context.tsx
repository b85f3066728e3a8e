/**
 * Which translator the components below use: `TranslationProvider` (or `ChatProvider`'s
 * `locale` / `translations` props) sets it, `useTranslation()` reads it (English when
 * nothing set one).
 */
import { createContext, useContext, useMemo, type ReactNode } from "react";
import type { Translations } from "./en.js";
import { createTranslator, defaultTranslator, type Translator } from "./translator.js";

const TranslationContext = createContext<Translator>(defaultTranslator);

export interface TranslationProviderProps {
  /** A BCP 47 locale (`"de"`, `"de-AT"`, `"en-GB"`…): picks the built-in table and formats. */
  locale?: string;
  /** Your own texts on top of the built-in ones (some keys, or a whole table). */
  translations?: Partial<Translations>;
  children?: ReactNode;
}

/** Sets the language of every OnyxChat component below. */
export function TranslationProvider({ locale = "en", translations, children }: TranslationProviderProps) {
  const translator = useMemo(() => createTranslator(locale, translations), [locale, translations]);
  return <TranslationContext.Provider value={translator}>{children}</TranslationContext.Provider>;
}

/** The translator in effect: `t(key, values)`, `formatTime(date)` (a `Date`, or an ISO string), `locale`. */
export function useTranslation(): Translator {
  return useContext(TranslationContext);
}
