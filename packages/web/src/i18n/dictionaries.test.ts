import i18next from 'i18next';
import { describe, expect, it } from 'vitest';
import { en } from './en.js';
import { fr } from './fr.js';

function keys(value: unknown, prefix = ''): string[] {
  if (typeof value !== 'object' || value === null) return [prefix];
  return Object.entries(value).flatMap(([key, inner]) => keys(inner, prefix ? `${prefix}.${key}` : key));
}
// French has a `many` plural form that English lacks.
const base = (key: string) => key.replace(/_many$/, '_other');

describe('dictionaries', () => {
  it('[WB20] French says everything English says, and nothing else', () => {
    expect([...new Set(keys(fr).map(base))].sort()).toEqual(keys(en).sort());
  });

  it('[WB20] counts agree in French: 1 personne, 2 personnes', async () => {
    const i18n = i18next.createInstance();
    await i18n.init({ resources: { en: { translation: en }, fr: { translation: fr } }, lng: 'fr', fallbackLng: 'en' });
    expect(i18n.t('invite.size', { count: 1, limit: 20 })).toBe('1 personne sur 20');
    expect(i18n.t('invite.size', { count: 2, limit: 20 })).toBe('2 personnes sur 20');
    expect(i18n.t('invite.size', { count: 1, limit: 20, lng: 'en' })).toBe('1 of 20 people');
  });
});
