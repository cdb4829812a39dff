import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ConversationView } from '../conversation/conversation-view.js';
import { ChatPanel } from '../groups/chat-panel.js';
import { GroupPanel } from '../groups/group-panel.js';
import { InvitePage } from '../groups/invite-page.js';
import { useLive, useLiveStore } from '../live/use-live.js';
import { useRoute } from '../router/router.js';
import { SettingsPage } from '../settings/settings-page.js';
import { AdminAppsPage } from '../apps/admin-apps.js';
import { Sidebar } from '../sidebar/sidebar.js';
import { QuickSwitcher } from '../switcher/quick-switcher.js';
import { NotificationOffer, useDesktopNotifications } from '../notify/desktop.js';
import { ConnectionBanner } from './connection-banner.js';

/**
 * The signed-in layout: the sidebar beside the page on a desktop, a drawer over it on a phone
 * [WB22]; the group panel to the right (over the page on a phone).
 */
export function Shell({ onSignOut }: { onSignOut: () => void }) {
  const { t } = useTranslation();
  const live = useLiveStore();
  const snapshot = useLive();
  const route = useRoute();
  const [drawer, setDrawer] = useState(false);
  const [panel, setPanel] = useState(false);
  const [switcher, setSwitcher] = useState(false);
  const offer = useDesktopNotifications();
  const activeId = route.name === 'conversation' ? route.conversationId : null;
  const entry = activeId ? snapshot.conversations.get(activeId) : undefined;

  useEffect(() => {
    void live.open(activeId);
    setPanel(false);
  }, [live, activeId, entry !== undefined]);

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      // Ctrl+K (Cmd+K on a Mac) opens the quick switcher from anywhere, the composer too [WB62].
      if ((event.ctrlKey || event.metaKey) && !event.altKey && !event.shiftKey && event.key.toLowerCase() === 'k') {
        event.preventDefault();
        setDrawer(false);
        setSwitcher((open) => !open);
        return;
      }
      if (event.key !== 'Escape') return;
      setDrawer(false);
      setPanel(false);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  return (
    <div className="flex h-full flex-col">
      <ConnectionBanner />
      {offer && <NotificationOffer />}
      <div className="relative flex min-h-0 flex-1">
        {drawer && <button type="button" aria-label={t('common.close')} className="fixed inset-0 z-20 bg-black/40 md:hidden" onClick={() => setDrawer(false)} />}
        <div
          data-testid="sidebar"
          className={`fixed inset-y-0 left-0 z-30 w-80 max-w-[85vw] border-r border-zinc-200 transition-transform md:static md:z-auto md:translate-x-0 dark:border-zinc-800 ${drawer ? 'translate-x-0' : '-translate-x-full'}`}
        >
          <Sidebar activeId={activeId} settingsOpen={route.name === 'settings' || route.name === 'apps'} onSignOut={onSignOut} onNavigate={() => setDrawer(false)} onFind={() => { setDrawer(false); setSwitcher(true); }} />
        </div>
        <main className="flex min-w-0 flex-1">
          {route.name === 'invite' ? (
            <InvitePage token={route.token} onOpenMenu={() => setDrawer(true)} />
          ) : route.name === 'settings' ? (
            <SettingsPage onOpenMenu={() => setDrawer(true)} />
          ) : route.name === 'apps' ? (
            <AdminAppsPage onOpenMenu={() => setDrawer(true)} />
          ) : entry ? (
            <>
              <ConversationView entry={entry} onOpenMenu={() => setDrawer(true)} onTogglePanel={() => setPanel(!panel)} />
              {panel && (
                <div className="fixed inset-0 z-30 md:static md:z-auto">
                  {entry.view.conversation.kind === 'group' ? <GroupPanel entry={entry} onClose={() => setPanel(false)} /> : <ChatPanel entry={entry} onClose={() => setPanel(false)} />}
                </div>
              )}
            </>
          ) : (
            <Welcome missing={activeId !== null} onOpenMenu={() => setDrawer(true)} />
          )}
        </main>
      </div>
      {switcher && <QuickSwitcher onClose={() => setSwitcher(false)} />}
    </div>
  );
}

function Welcome({ missing, onOpenMenu }: { missing: boolean; onOpenMenu: () => void }) {
  const { t } = useTranslation();
  return (
    <section className="flex flex-1 flex-col">
      <header className="flex items-center border-b border-zinc-200 px-3 py-2 md:hidden dark:border-zinc-800">
        <button type="button" onClick={onOpenMenu} className="rounded-md p-2 hover:bg-zinc-100 dark:hover:bg-zinc-800" aria-label={t('shell.openMenu')}>☰</button>
        <span className="ml-2 font-semibold">Parley</span>
      </header>
      <div className="flex flex-1 flex-col items-center justify-center gap-2 p-6 text-center text-zinc-600 dark:text-zinc-400">
        <img src="/favicon.svg" alt="" className="h-12 w-12 opacity-80" />
        <p>{missing ? t('shell.notFound') : t('shell.welcome')}</p>
      </div>
    </section>
  );
}
