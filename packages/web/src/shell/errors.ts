import { ParleyError } from '@parley/protocol';
import type { TFunction } from 'i18next';
import type { Live } from '../live/live.js';

/** What to tell a person about a failed request: a known code in their language, else the server's words. */
export function errorText(t: TFunction, error: unknown): string {
  if (error instanceof ParleyError) {
    const key = `errors.${error.code}`;
    const translated = t(key, { defaultValue: '' });
    return translated || error.message;
  }
  return t('errors.network');
}

/**
 * A refusal that says the account changed elsewhere (a guardian switched group chats off) reloads
 * the account, so that every screen shows the reason from then on [WB82].
 */
export function refreshMeOnRefusal(live: Live, error: unknown): void {
  if (error instanceof ParleyError && error.code === 'GROUP_CHATS_DISABLED') {
    live.client.api.getMe().then((me) => live.setMe(me), () => undefined);
  }
}
