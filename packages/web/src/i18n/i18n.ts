import i18next from 'i18next';
import { initReactI18next } from 'react-i18next';
import { en } from './en.js';
import { fr } from './fr.js';

export const LANGUAGES = [
  { code: 'en', name: 'English' },
  { code: 'fr', name: 'Français' },
] as const;

const KEY = 'parley.language';

/** The saved choice, else the first of the browser's languages that Parley speaks, else English [WB20]. */
export function preferredLanguage(): string {
  const saved = localStorage.getItem(KEY);
  const known = (code: string) => LANGUAGES.some((language) => language.code === code);
  if (saved && known(saved)) return saved;
  for (const tag of navigator.languages ?? [navigator.language]) {
    const base = tag.toLowerCase().split('-')[0] ?? '';
    if (known(base)) return base;
  }
  return 'en';
}

export function initI18n(): void {
  const lng = preferredLanguage();
  void i18next.use(initReactI18next).init({
    resources: { en: { translation: en }, fr: { translation: fr } },
    lng,
    fallbackLng: 'en',
    interpolation: { escapeValue: false },
    returnNull: false,
  });
  document.documentElement.lang = lng;
}

export function setLanguage(code: string): void {
  localStorage.setItem(KEY, code);
  document.documentElement.lang = code;
  void i18next.changeLanguage(code);
}
