import { ParleyError } from '@parley/protocol';
import type { TFunction } from 'i18next';

/** What to tell a person about a failed request: a known code in their language, else the server's words. */
export function errorText(t: TFunction, error: unknown): string {
  if (error instanceof ParleyError) {
    const key = `errors.${error.code}`;
    const translated = t(key, { defaultValue: '' });
    return translated || error.message;
  }
  return t('errors.network');
}
