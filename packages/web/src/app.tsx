import { type Me, ParleyError } from '@parley/protocol';
import { ParleyClient } from '@parley/sdk';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Live } from './live/live.js';
import { LiveContext } from './live/use-live.js';
import { navigate, useRoute } from './router/router.js';
import { AuthPage } from './session/auth-page.js';
import { errorText } from './shell/errors.js';
import { Shell } from './shell/shell.js';

const client = new ParleyClient({ baseUrl: location.origin });

/** Signed out: the sign-in or sign-up page. Signed in: the live shell. */
export function App() {
  const { t } = useTranslation();
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  // What stopped the start, kept as it came: shown in the person's language when it is a refusal of the server [WB92].
  const [failure, setFailure] = useState<unknown>(null);
  const route = useRoute();

  useEffect(() => {
    client.api.getMe().then(setMe, (error: unknown) => {
      if (error instanceof ParleyError && error.code === 'UNAUTHENTICATED') setMe(null);
      else setFailure(error ?? new Error('unknown'));
    });
  }, []);

  const [live, setLive] = useState<Live | null>(null);
  useEffect(() => {
    if (!me) return setLive(null);
    const created = new Live(client, me);
    setLive(created);
    created.start().catch((error: unknown) => setFailure(error ?? new Error('unknown')));
    const unsubscribe = created.subscribe(() => {
      if (created.getSnapshot().signedOut) setMe(null);
    });
    return () => {
      unsubscribe();
      created.close();
    };
  }, [me?.id]);

  useEffect(() => {
    if (me && (route.name === 'sign-in' || route.name === 'sign-up')) navigate('/', { replace: true });
  }, [me, route.name]);

  if (failure !== null) {
    const message = failure instanceof ParleyError ? errorText(t, failure) : failure instanceof Error ? failure.message : String(failure);
    return <p className="p-6 text-red-700 dark:text-red-400" role="alert">{t('errors.start', { message })}</p>;
  }
  if (me === undefined) return <p className="p-6 text-zinc-600 dark:text-zinc-400">{t('common.loading')}</p>;
  if (!me) {
    return <AuthPage client={client} initialMode={route.name === 'sign-up' ? 'sign-up' : 'sign-in'} onSignedIn={setMe} inviteNotice={route.name === 'invite'} />;
  }
  const signOut = async () => {
    await client.api.signOut().catch(() => undefined);
    setMe(null);
    navigate('/sign-in', { replace: true });
  };
  if (!live) return <p className="p-6 text-zinc-600 dark:text-zinc-400">{t('common.loading')}</p>;
  return (
    <LiveContext value={live}>
      <Shell onSignOut={() => void signOut()} />
    </LiveContext>
  );
}
