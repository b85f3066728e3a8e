export { de } from "./de.js";
export { en, type Plural, type PluralKey, type TranslationKey, type Translations } from "./en.js";
export { TranslationProvider, useTranslation, type TranslationProviderProps } from "./context.js";
export {
  builtinTranslations,
  createTranslator,
  defaultTranslator,
  translationsFor,
  type TranslationValues,
  type Translator,
} from "./translator.js";
