import { useTranslation } from 'react-i18next';
import { LANGUAGES, setLanguage } from '../i18n/i18n.js';
import { setTheme, type ThemeChoice, useThemeChoice } from '../theme/theme.js';

const select = 'rounded-md border border-zinc-300 bg-white px-2 py-1 text-sm dark:border-zinc-700 dark:bg-zinc-900';

/** Language and theme switches [WB20]–[WB21]: each remembered in this browser. */
export function Preferences() {
  const { t, i18n } = useTranslation();
  const theme = useThemeChoice();
  return (
    <div className="flex flex-wrap items-center gap-2 text-sm">
      <label className="flex items-center gap-1">
        <span className="sr-only">{t('prefs.language')}</span>
        <select aria-label={t('prefs.language')} className={select} value={i18n.resolvedLanguage ?? 'en'} onChange={(event) => setLanguage(event.target.value)}>
          {LANGUAGES.map((language) => (
            <option key={language.code} value={language.code}>
              {language.name}
            </option>
          ))}
        </select>
      </label>
      <label className="flex items-center gap-1">
        <span className="sr-only">{t('prefs.theme')}</span>
        <select aria-label={t('prefs.theme')} className={select} value={theme} onChange={(event) => setTheme(event.target.value as ThemeChoice)}>
          <option value="system">{t('prefs.system')}</option>
          <option value="light">{t('prefs.light')}</option>
          <option value="dark">{t('prefs.dark')}</option>
        </select>
      </label>
    </div>
  );
}
