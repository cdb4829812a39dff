import { type Me, ParleyError } from '@parley/protocol';
import { ParleyClient } from '@parley/sdk';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Live } from './live/live.js';
import { LiveContext } from './live/use-live.js';
import { navigate, useRoute } from './router/router.js';
import { AuthPage } from './session/auth-page.js';
import { Shell } from './shell/shell.js';

const client = new ParleyClient({ baseUrl: location.origin });

/** Signed out: the sign-in or sign-up page. Signed in: the live shell. */
export function App() {
  const { t } = useTranslation();
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const [failure, setFailure] = useState<string | null>(null);
  const route = useRoute();

  useEffect(() => {
    client.api.getMe().then(setMe, (error: unknown) => {
      if (error instanceof ParleyError && error.code === 'UNAUTHENTICATED') setMe(null);
      else setFailure(error instanceof Error ? error.message : String(error));
    });
  }, []);

  const [live, setLive] = useState<Live | null>(null);
  useEffect(() => {
    if (!me) return setLive(null);
    const created = new Live(client, me);
    setLive(created);
    created.start().catch((error: unknown) => setFailure(error instanceof Error ? error.message : String(error)));
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

  if (failure) return <p className="p-6 text-red-700 dark:text-red-400" role="alert">{t('errors.start', { message: failure })}</p>;
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
