import type { App, AppCall, AppTool } from '@parley/protocol';
import { useEffect, useState } from 'react';
import type { Live } from '../live/live.js';
import { useLiveStore } from '../live/use-live.js';

// Apart from widget.tsx, which loads ext-apps' bridge: a card learns whether its call has a
// widget without loading the bridge into the first load of the page [WB74].

/** The apps of each conversation as members see them (their tools name their widgets), read once per conversation and app. */
const appsRead = new Map<string, Promise<Map<string, App>>>();

function appsOf(live: Live, conversationId: string, appId: string): Promise<Map<string, App>> {
  const held = appsRead.get(conversationId);
  const read = async () => {
    const list = await live.client.api.listConversationApps({ params: { conversationId } });
    return new Map(list.apps.map((app) => [app.id, app]));
  };
  const next = (held ?? read()).then((apps) => (apps.has(appId) ? apps : held ? read() : apps));
  appsRead.set(conversationId, next);
  next.catch(() => appsRead.delete(conversationId));
  return next;
}

/** The tool of a call when it has a widget; null when it has none (or while that is read). */
export function useWidgetTool(call: AppCall): AppTool | null {
  const live = useLiveStore();
  const [tool, setTool] = useState<AppTool | null>(null);
  useEffect(() => {
    let current = true;
    appsOf(live, call.conversationId, call.appId)
      .then((apps) => {
        const found = apps.get(call.appId)?.tools.find((item) => item.name === call.tool);
        if (current) setTool(found?.uiResourceUri ? found : null);
      })
      .catch(() => undefined);
    return () => {
      current = false;
    };
  }, [live, call.conversationId, call.appId, call.tool]);
  return tool;
}
