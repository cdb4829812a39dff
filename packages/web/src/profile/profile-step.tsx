import type { Me } from '@parley/protocol';
import { type ReactNode, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useLive } from '../live/use-live.js';
import { Dialog } from '../shell/dialog.js';
import { ProfileForm } from './profile-form.js';

const answeredKey = (userId: string) => `parley.profileStep.${userId}`;

function answered(userId: string): boolean {
  try {
    return localStorage.getItem(answeredKey(userId)) !== null;
  } catch {
    return false;
  }
}

/** Remembers in this browser that the step was answered (saved or skipped) for the account. */
export function markAnswered(userId: string): void {
  try {
    localStorage.setItem(answeredKey(userId), new Date().toISOString());
  } catch {
    // Storage refused (private mode): the step is asked again next time, nothing worse.
  }
}

/**
 * Whether the profile step comes before creating or joining a group [WB52]. The account's profile
 * (`GET /api/me`) is complete when it has a display name confirmed once (`profileComplete`, which
 * the server requires for groups) and a picture. Without a display name the step always comes,
 * and cannot be skipped. With a name but no picture it comes before the first group only (the
 * account is in none yet), and once: saved or skipped, this browser does not ask again; the
 * settings keep the form for later.
 */
export function profileStepDue(me: Me, inAGroup: boolean): boolean {
  if (!me.profileComplete) return true;
  return me.avatarUrl === null && !inAGroup && !answered(me.id);
}

/**
 * `guard(action)` runs `action` at once when the profile is complete, else first shows the
 * profile step and runs it after Save or "Skip for now" [WB52]; ✕ or Escape gives up the action.
 */
export function useProfileStep(): { guard: (action: () => void) => void; step: ReactNode } {
  const { t } = useTranslation();
  const { me, conversations } = useLive();
  const [open, setOpen] = useState(false);
  const pending = useRef<(() => void) | null>(null);

  const guard = (action: () => void) => {
    const inAGroup = [...conversations.values()].some((entry) => entry.view.conversation.kind === 'group');
    if (!profileStepDue(me, inAGroup)) return action();
    pending.current = action;
    setOpen(true);
  };
  const proceed = (saved: Me) => {
    markAnswered(saved.id);
    setOpen(false);
    const action = pending.current;
    pending.current = null;
    // After the dialog is gone and the focus is back on the button that asked.
    if (action) setTimeout(action, 0);
  };
  const cancel = () => {
    pending.current = null;
    setOpen(false);
  };

  const step = open ? (
    <Dialog title={t('profile.stepTitle')} description={me.profileComplete ? t('profile.stepHint') : t('profile.stepNeedsName')} onClose={cancel} testId="profile-step" wide>
      <ProfileForm
        me={me}
        saveLabel={t('profile.saveAndContinue')}
        onSaved={proceed}
        extraActions={
          me.profileComplete ? (
            <button type="button" onClick={() => proceed(me)} className="rounded-lg px-3 py-1.5 text-sm hover:bg-zinc-100 dark:hover:bg-zinc-800">
              {t('profile.skip')}
            </button>
          ) : null
        }
      />
    </Dialog>
  ) : null;
  return { guard, step };
}
