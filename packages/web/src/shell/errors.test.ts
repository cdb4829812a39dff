import { ERROR_STATUS, type ErrorCode, ParleyError } from '@parley/protocol';
import i18next, { type TFunction } from 'i18next';
import { describe, expect, it } from 'vitest';
import { en } from '../i18n/en.js';
import { fr } from '../i18n/fr.js';
import { errorText, turnErrorText } from './errors.js';

async function translator(lng: 'en' | 'fr'): Promise<TFunction> {
  const i18n = i18next.createInstance();
  // No fallback language: a word missing in French must show here, not hide behind English.
  await i18n.init({ resources: { en: { translation: en }, fr: { translation: fr } }, lng, fallbackLng: false, interpolation: { escapeValue: false } });
  return i18n.t;
}

describe('refusals in the person’s language', () => {
  it('[WB92] every error code of the protocol has its words in English and in French, never the server’s', async () => {
    for (const lng of ['en', 'fr'] as const) {
      const t = await translator(lng);
      for (const code of Object.keys(ERROR_STATUS) as ErrorCode[]) {
        const server = `server words for ${code}`;
        const text = errorText(t, new ParleyError(code, server));
        expect({ lng, code, text }).not.toEqual({ lng, code, text: server });
        expect(text, `${lng} ${code}`).toBe((lng === 'en' ? en : fr).errors[code]);
      }
    }
  });

  it('[WB92] in French: a refusal by code, a refusal whose field says more, and the server’s words only for a code this client does not know', async () => {
    const t = await translator('fr');
    expect(errorText(t, new ParleyError('ALREADY_MEMBER', '@bea is already a member', { field: 'body.username' }))).toBe('Cette personne est déjà membre.');
    expect(errorText(t, new ParleyError('FORBIDDEN', 'local (stdio) apps are off on this server', { field: 'body.command' }))).toBe(fr.apps.admin.localOff);
    expect(errorText(t, new ParleyError('INVALID_INPUT', 'body.command.0: must be the absolute path of the executable', { field: 'body.command.0' }))).toBe(fr.errors.fields.commandPath);
    expect(errorText(t, new ParleyError('CONFLICT', 'this message was deleted and takes no reactions', { field: 'params.messageId' }))).toBe(fr.errors.fields.messageDeleted);
    // A field with no words of its own: the code's.
    expect(errorText(t, new ParleyError('CONFLICT', 'you already have a guardian', { field: 'body.username' }))).toBe(fr.errors.CONFLICT);
    // A newer server's code: its own words.
    const unknown = new ParleyError('CONFLICT', 'a newer refusal');
    Object.defineProperty(unknown, 'code', { value: 'SOMETHING_NEW' });
    expect(errorText(t, unknown)).toBe('a newer refusal');
    // Not a refusal at all: the network.
    expect(errorText(t, new TypeError('Failed to fetch'))).toBe(fr.errors.network);
  });

  it('[WB92] why an answer failed, in French by its code, else as recorded', async () => {
    const t = await translator('fr');
    expect(turnErrorText(t, { code: 'provider_timeout', message: 'the provider timed out after 60 s', retryable: true })).toBe(fr.turn.errors.provider_timeout);
    expect(turnErrorText(t, { code: 'something_else', message: 'as recorded', retryable: false })).toBe('as recorded');
  });
});
