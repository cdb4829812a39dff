import { ParleyError, type TurnError } from '@parley/protocol';
import type { TFunction } from 'i18next';
import type { Live } from '../live/live.js';

/**
 * Refusals whose code alone says too little, by code and field: what the person is told instead
 * of the code's general words [WB92].
 */
const BY_FIELD: Readonly<Record<string, string>> = {
  'FORBIDDEN body.command': 'apps.admin.localOff',
  'INVALID_INPUT body.command.0': 'errors.fields.commandPath',
  'INVALID_INPUT body.url': 'errors.fields.appUrl',
  'CONFLICT params.messageId': 'errors.fields.messageDeleted',
  'CONFLICT params.callId': 'errors.fields.callDecided',
};

/**
 * What to tell a person about a failed request, in their language [WB92]: the words for its code
 * and field, else for its code; the server's own words only for a code this client does not know
 * (a newer server's).
 */
export function errorText(t: TFunction, error: unknown): string {
  if (error instanceof ParleyError) {
    const byField = error.field === undefined ? undefined : BY_FIELD[`${error.code} ${error.field}`];
    const translated = (byField ? t(byField, { defaultValue: '' }) : '') || t(`errors.${error.code}`, { defaultValue: '' });
    return translated || error.message;
  }
  return t('errors.network');
}

/** Why an answer failed, in the person's language [WB92]: the words for its code, else the recorded ones. */
export function turnErrorText(t: TFunction, error: TurnError): string {
  return t(`turn.errors.${error.code}`, { defaultValue: '' }) || error.message;
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
