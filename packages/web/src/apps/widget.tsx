import type { AppCall, AppTool, WidgetSession } from '@parley/protocol';
import { AppBridge, type McpUiDisplayMode, type McpUiHostContext } from '@modelcontextprotocol/ext-apps/app-bridge';
import { useEffect, useLayoutEffect, useRef, useState, useSyncExternalStore } from 'react';
import { useTranslation } from 'react-i18next';
import type { Live } from '../live/live.js';
import { useLiveStore } from '../live/use-live.js';
import { ConfirmDialog } from '../shell/dialog.js';
import { errorText } from '../shell/errors.js';
import { widgetCallResult, isEnded } from './model.js';

/**
 * A tool call's widget (MCP Apps) [WB74]: the outer frame on the widget origin, which holds the
 * widget's document in a sandboxed inner frame, and ext-apps' `AppBridge` on this side of it.
 * The MCP client is on the server: the widget's tool calls go through Parley's API, under the same
 * confirmation rules as the assistant's.
 */

type Transport = Parameters<AppBridge['connect']>[0];
type Message = Parameters<Transport['send']>[0];

/** Tallest a widget grows inline; past it, it scrolls inside. */
const MAX_HEIGHT = 640;
const FIRST_HEIGHT = 120;
/** How long the host waits for a widget's answer to ui/resource-teardown before its frame goes [WB91]. */
export const TEARDOWN_WAIT_MS = 500;
/** How long a ticket is used again for the same call (the server keeps one 15 minutes) [WB91]. */
const TICKET_REUSE_MS = 5 * 60_000;

/**
 * The tickets this page holds, per signed-in client and call: a card that mounts again (React's
 * development double mount, the list scrolling it out and back) shows the widget with the ticket
 * it asked for, instead of asking for another [WB91].
 */
const tickets = new WeakMap<Live, Map<string, { session: Promise<WidgetSession>; askedAt: number }>>();

function ticketFor(live: Live, conversationId: string, callId: string): Promise<WidgetSession> {
  let held = tickets.get(live);
  if (!held) tickets.set(live, (held = new Map()));
  const key = `${conversationId}/${callId}`;
  const now = Date.now();
  const kept = held.get(key);
  if (kept && now - kept.askedAt < TICKET_REUSE_MS) return kept.session;
  const session = live.client.api.openWidget({ params: { conversationId, callId } }).then((opened) => {
    // A ticket already past its time by this clock is not used again.
    if (Date.parse(opened.expiresAt) <= Date.now()) held.delete(key);
    return opened;
  });
  held.set(key, { session, askedAt: now });
  session.catch(() => {
    if (held.get(key)?.session === session) held.delete(key);
  });
  return session;
}

/**
 * Where a frame waits for its widget's answer to teardown once its card has gone: a hidden holder
 * outside React's tree. `moveBefore` moves the frame there with its documents alive (a plain move
 * would reload them); a browser without it loses the frame with the card, as before.
 */
function park(frame: HTMLIFrameElement): boolean {
  const move = (Element.prototype as { moveBefore?: (node: Node, child: Node | null) => void }).moveBefore;
  if (typeof move !== 'function' || !frame.isConnected) return false;
  let holder = document.getElementById('parley-closing-widgets');
  if (!holder) {
    holder = document.createElement('div');
    holder.id = 'parley-closing-widgets';
    holder.setAttribute('aria-hidden', 'true');
    holder.inert = true;
    holder.style.cssText = 'position:fixed;left:-10000px;top:0;width:1px;height:1px;overflow:hidden;';
    document.body.append(holder);
  }
  try {
    move.call(holder, frame, null);
    return true;
  } catch {
    return false;
  }
}

/**
 * The bridge's side of `postMessage`, stricter than ext-apps' own: it hears only the outer frame's
 * window, only from the widget origin, and posts only to that origin.
 */
class FrameTransport implements Transport {
  readonly #frame: Window;
  readonly #origin: string;
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: Message) => void;

  constructor(frame: Window, origin: string) {
    this.#frame = frame;
    this.#origin = origin;
  }

  readonly #listener = (event: MessageEvent) => {
    if (event.source !== this.#frame || event.origin !== this.#origin) return;
    const data: unknown = event.data;
    if (!data || typeof data !== 'object' || (data as { jsonrpc?: unknown }).jsonrpc !== '2.0') return;
    this.onmessage?.(data as Message);
  };

  async start(): Promise<void> {
    window.addEventListener('message', this.#listener);
  }

  async send(message: Message): Promise<void> {
    this.#frame.postMessage(message, this.#origin);
  }

  async close(): Promise<void> {
    window.removeEventListener('message', this.#listener);
    this.onclose?.();
  }
}

/** The page's theme: the `dark` class on the root element [WB21]. */
function useDark(): boolean {
  return useSyncExternalStore(
    (listener) => {
      const observer = new MutationObserver(listener);
      observer.observe(document.documentElement, { attributes: true, attributeFilter: ['class'] });
      return () => observer.disconnect();
    },
    () => document.documentElement.classList.contains('dark'),
  );
}

/** Resolves with the call once it has ended, as the live events tell it. */
function endOf(live: Live, conversationId: string, callId: string, signal: AbortSignal): Promise<AppCall> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const call = live.getSnapshot().conversations.get(conversationId)?.appCalls?.find((item) => item.id === callId);
      if (call && isEnded(call)) {
        stop();
        resolve(call);
      }
    };
    const unsubscribe = live.subscribe(check);
    const stop = () => {
      unsubscribe();
      signal.removeEventListener('abort', abort);
    };
    const abort = () => {
      stop();
      reject(new Error('the widget was closed'));
    };
    signal.addEventListener('abort', abort);
    check();
  });
}

export function CallWidget({ call, tool }: { call: AppCall; tool: AppTool }) {
  const { t, i18n } = useTranslation();
  const live = useLiveStore();
  const dark = useDark();
  const frame = useRef<HTMLIFrameElement>(null);
  const bridgeRef = useRef<AppBridge | null>(null);
  const sentResult = useRef(false);
  const [session, setSession] = useState<WidgetSession | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [ready, setReady] = useState(false);
  const [height, setHeight] = useState(FIRST_HEIGHT);
  const [mode, setMode] = useState<McpUiDisplayMode>('inline');
  const [link, setLink] = useState<{ url: string; answer: (open: boolean) => void } | null>(null);
  const theme: 'dark' | 'light' = dark ? 'dark' : 'light';
  const context = useRef({ theme, locale: i18n.language, mode });
  context.current = { theme, locale: i18n.language, mode };

  const translate = useRef(t);
  translate.current = t;

  // A ticket for this member, this call, the approved listing [AP20]; one per call, however often the card mounts [WB91].
  useEffect(() => {
    let current = true;
    ticketFor(live, call.conversationId, call.id)
      .then((opened) => current && setSession(opened))
      .catch((caught: unknown) => current && setFailure(errorText(translate.current, caught)));
    return () => {
      current = false;
    };
  }, [live, call.conversationId, call.id]);

  // The card leaving: before React removes the frame, it is set aside, alive, for the teardown below [WB91].
  const parked = useRef<HTMLIFrameElement | null>(null);
  useLayoutEffect(
    () => () => {
      const element = frame.current;
      if (element && park(element)) parked.current = element;
    },
    [],
  );

  // The bridge lives as long as the frame: the card leaving tears the widget down.
  useEffect(() => {
    const window_ = frame.current?.contentWindow;
    if (!session || !window_) return;
    const closed = new AbortController();
    const hostContext = (): McpUiHostContext => ({
      theme: context.current.theme,
      locale: context.current.locale,
      displayMode: context.current.mode,
      availableDisplayModes: ['inline', 'fullscreen'],
      platform: 'web',
      containerDimensions: { maxHeight: MAX_HEIGHT },
      toolInfo: { tool: { name: tool.name, inputSchema: { type: 'object', ...tool.inputSchema }, ...(tool.title ? { title: tool.title } : {}), ...(tool.description ? { description: tool.description } : {}) } },
    });
    const bridge = new AppBridge(
      null,
      { name: 'Parley', version: '0.1.0' },
      { openLinks: {}, serverTools: {}, logging: {}, sandbox: { csp: session.csp } },
      { hostContext: hostContext() },
    );
    bridge.oninitialized = () => {
      if (closed.signal.aborted) return;
      void bridge.sendToolInput({ arguments: call.arguments });
      setReady(true);
    };
    bridge.onsizechange = ({ height: next }) => {
      if (typeof next === 'number' && Number.isFinite(next)) setHeight(Math.max(40, Math.min(MAX_HEIGHT, Math.ceil(next))));
    };
    bridge.onrequestdisplaymode = async ({ mode: asked }) => {
      const next: McpUiDisplayMode = asked === 'fullscreen' ? 'fullscreen' : 'inline';
      setMode(next);
      return { mode: next };
    };
    bridge.onopenlink = async ({ url }) => {
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        return { isError: true };
      }
      if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return { isError: true };
      // Only the person opens a link, after reading where it goes.
      const open = await new Promise<boolean>((answer) => setLink({ url: parsed.href, answer }));
      setLink(null);
      if (!open) return { isError: true };
      window.open(parsed.href, '_blank', 'noopener,noreferrer');
      return {};
    };
    // A widget calls only its own app's tools, through the API, as this member [AP8]: a tool that
    // changes things waits for this member's confirmation on its card, as the assistant's calls do.
    bridge.oncalltool = async ({ name, arguments: args }) => {
      const created = await live.client.api.callAppTool({
        params: { conversationId: call.conversationId, appId: call.appId },
        body: { id: crypto.randomUUID(), tool: name, arguments: JSON.stringify(args ?? {}) },
      });
      const ended = isEnded(created) ? created : await endOf(live, call.conversationId, created.id, closed.signal);
      return widgetCallResult(ended);
    };
    bridge.onloggingmessage = () => undefined;
    sentResult.current = false;
    bridgeRef.current = bridge;
    void bridge.connect(new FrameTransport(window_, session.origin)).catch(() => undefined);
    return () => {
      closed.abort();
      bridgeRef.current = null;
      setReady(false);
      // ui/resource-teardown, and the widget's answer awaited (bounded) before its frame goes [WB91].
      void Promise.race([bridge.teardownResource({}), new Promise((resolve) => setTimeout(resolve, TEARDOWN_WAIT_MS))])
        .catch(() => undefined)
        .finally(() => {
          void bridge.close().catch(() => undefined);
          parked.current?.remove();
          parked.current = null;
        });
    };
    // The bridge is made once per ticket; what changes later (the result, the host context) is sent to it below.
  }, [session, live]);

  // The result, once the call has one, for every member's widget alike.
  useEffect(() => {
    const bridge = bridgeRef.current;
    if (!ready || !bridge || sentResult.current || call.status !== 'completed' || !call.result) return;
    sentResult.current = true;
    void bridge.sendToolResult(call.result as Parameters<AppBridge['sendToolResult']>[0]);
  }, [ready, call.status, call.result]);

  // Theme, language and display mode follow the page.
  useEffect(() => {
    const bridge = bridgeRef.current;
    if (!ready || !bridge) return;
    void bridge.sendHostContextChange({ theme, locale: i18n.language, displayMode: mode });
  }, [ready, theme, i18n.language, mode]);

  const fullscreen = mode === 'fullscreen';
  return (
    <div
      className={fullscreen ? 'fixed inset-0 z-40 flex flex-col bg-white dark:bg-zinc-950' : 'mt-2'}
      data-testid="widget"
      data-widget-mode={mode}
      data-widget-ready={ready ? 'true' : 'false'}
    >
      {fullscreen && (
        <div className="flex items-center justify-between border-b border-zinc-200 px-3 py-2 dark:border-zinc-800">
          <span className="text-sm font-semibold">{t('apps.widget.label', { app: call.appName })}</span>
          <button type="button" onClick={() => setMode('inline')} className="rounded-lg border border-zinc-300 px-3 py-1 text-sm hover:bg-zinc-100 dark:border-zinc-700 dark:hover:bg-zinc-800">
            {t('apps.widget.exitFullscreen')}
          </button>
        </div>
      )}
      {failure ? (
        <p role="alert" className="text-xs text-red-700 dark:text-red-400">{t('apps.widget.failed', { reason: failure })}</p>
      ) : !session ? (
        <p className="text-xs text-zinc-600 dark:text-zinc-400">{t('apps.widget.loading')}</p>
      ) : (
        <iframe
          ref={frame}
          src={session.url}
          title={t('apps.widget.label', { app: call.appName })}
          // The outer frame is Parley's relay, on the widget origin; the widget itself is sandboxed again inside it [AP22].
          sandbox="allow-scripts allow-same-origin"
          allow=""
          referrerPolicy="no-referrer"
          className={`block w-full bg-transparent ${session.prefersBorder === false ? '' : 'rounded-lg border border-zinc-300 dark:border-zinc-700'} ${fullscreen ? 'min-h-0 flex-1 rounded-none border-0' : ''}`}
          style={fullscreen ? undefined : { height }}
        />
      )}
      {link && (
        <ConfirmDialog
          title={t('apps.widget.openLinkTitle')}
          text={t('apps.widget.openLinkText', { app: call.appName, url: link.url })}
          confirmLabel={t('apps.widget.openLink')}
          onConfirm={() => link.answer(true)}
          onCancel={() => link.answer(false)}
        />
      )}
    </div>
  );
}
