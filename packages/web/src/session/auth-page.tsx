import type { Me } from '@parley/protocol';
import type { ParleyClient } from '@parley/sdk';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { navigate } from '../router/router.js';
import { Preferences } from '../shell/preferences.js';
import { errorText } from '../shell/errors.js';

/**
 * Sign in or sign up [WB4]. The browser keeps the session as the server's httpOnly cookie
 * (`session: 'cookie'`); this page never sees a token.
 */
export function AuthPage({ client, initialMode, onSignedIn, inviteNotice }: {
  client: ParleyClient;
  initialMode: 'sign-in' | 'sign-up';
  onSignedIn: (me: Me) => void;
  inviteNotice: boolean;
}) {
  const { t } = useTranslation();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [teen, setTeen] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [mode, setMode] = useState(initialMode);
  const signUp = mode === 'sign-up';

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const session = signUp
        ? await client.api.signUp({ body: { username, password, displayName, ageBand: teen ? 'teen' : 'adult', session: 'cookie' } })
        : await client.api.signIn({ body: { username, password, session: 'cookie' } });
      onSignedIn(session.user);
    } catch (caught) {
      setError(errorText(t, caught));
    } finally {
      setBusy(false);
    }
  };

  const switchMode = () => {
    const next = signUp ? 'sign-in' : 'sign-up';
    setMode(next);
    setError(null);
    // The page the person came for (an invite link) stays the place to land after signing in.
    if (location.pathname === '/sign-in' || location.pathname === '/sign-up') navigate(`/${next}`, { replace: true });
  };

  const field = 'w-full rounded-lg border border-zinc-300 bg-white px-3 py-2 text-base outline-none focus:border-indigo-500 focus:ring-2 focus:ring-indigo-500/30 dark:border-zinc-700 dark:bg-zinc-900';
  return (
    <main className="flex min-h-full items-center justify-center bg-zinc-50 p-4 dark:bg-zinc-950">
      <div className="w-full max-w-sm">
        <div className="mb-6 text-center">
          <img src="/favicon.svg" alt="" className="mx-auto mb-3 h-12 w-12" />
          <h1 className="text-2xl font-semibold">Parley</h1>
          <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">{t('auth.tagline')}</p>
        </div>
        <form onSubmit={submit} className="space-y-3 rounded-2xl border border-zinc-200 bg-white p-6 shadow-sm dark:border-zinc-800 dark:bg-zinc-900" aria-label={signUp ? t('auth.signUp') : t('auth.signIn')}>
          <h2 className="text-lg font-medium">{signUp ? t('auth.signUp') : t('auth.signIn')}</h2>
          {inviteNotice && <p className="rounded-lg bg-indigo-50 p-2 text-sm text-indigo-800 dark:bg-indigo-950 dark:text-indigo-200">{t('auth.inviteNotice')}</p>}
          <label className="block text-sm">
            <span className="mb-1 block text-zinc-600 dark:text-zinc-400">{t('auth.username')}</span>
            <input className={field} name="username" autoComplete="username" autoCapitalize="none" required value={username} onChange={(event) => setUsername(event.target.value)} />
          </label>
          {signUp && (
            <label className="block text-sm">
              <span className="mb-1 block text-zinc-600 dark:text-zinc-400">{t('auth.displayName')}</span>
              <input className={field} name="displayName" autoComplete="name" required value={displayName} onChange={(event) => setDisplayName(event.target.value)} />
            </label>
          )}
          <label className="block text-sm">
            <span className="mb-1 block text-zinc-600 dark:text-zinc-400">{t('auth.password')}</span>
            <input className={field} name="password" type="password" autoComplete={signUp ? 'new-password' : 'current-password'} required minLength={signUp ? 8 : 1} value={password} onChange={(event) => setPassword(event.target.value)} />
          </label>
          {signUp && (
            <label className="flex items-start gap-2 text-sm">
              <input type="checkbox" className="mt-0.5 h-4 w-4 accent-indigo-600" checked={teen} onChange={(event) => setTeen(event.target.checked)} aria-describedby="teen-hint" />
              <span>
                {t('auth.teen')}
                <span id="teen-hint" className="block text-xs text-zinc-600 dark:text-zinc-400">{t('auth.teenHint')}</span>
              </span>
            </label>
          )}
          {error && <p role="alert" className="text-sm text-red-600 dark:text-red-400">{error}</p>}
          <button type="submit" disabled={busy} className="w-full rounded-lg bg-indigo-600 px-3 py-2 font-medium text-white hover:bg-indigo-500 disabled:opacity-60">
            {signUp ? t('auth.createAccount') : t('auth.signIn')}
          </button>
          <p className="text-center text-sm text-zinc-600 dark:text-zinc-400">
            {signUp ? t('auth.haveAccount') : t('auth.noAccount')}{' '}
            <button type="button" onClick={switchMode} className="font-medium text-indigo-600 hover:underline dark:text-indigo-400">
              {signUp ? t('auth.signIn') : t('auth.signUp')}
            </button>
          </p>
        </form>
        <div className="mt-4 flex justify-center">
          <Preferences />
        </div>
      </div>
    </main>
  );
}
