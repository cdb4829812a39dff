import { useSyncExternalStore } from 'react';

/** The client's routes: a path is parsed into one of these, and built back from it. */
export type Route =
  | { name: 'home' }
  | { name: 'conversation'; conversationId: string }
  | { name: 'invite'; token: string }
  | { name: 'sign-in' }
  | { name: 'sign-up' }
  | { name: 'settings' }
  | { name: 'apps' }
  | { name: 'not-found' };

export function parseRoute(pathname: string): Route {
  const parts = pathname.split('/').filter((part) => part !== '').map((part) => decodeURIComponent(part));
  const [first, second] = parts;
  if (parts.length === 0) return { name: 'home' };
  if (first === 'c' && second && parts.length === 2) return { name: 'conversation', conversationId: second };
  if (first === 'invite' && second && parts.length === 2) return { name: 'invite', token: second };
  if (first === 'sign-in' && parts.length === 1) return { name: 'sign-in' };
  if (first === 'sign-up' && parts.length === 1) return { name: 'sign-up' };
  if (first === 'settings' && parts.length === 1) return { name: 'settings' };
  if (first === 'settings' && second === 'apps' && parts.length === 2) return { name: 'apps' };
  return { name: 'not-found' };
}

export function pathOf(route: Route): string {
  switch (route.name) {
    case 'home':
    case 'not-found':
      return '/';
    case 'conversation':
      return `/c/${encodeURIComponent(route.conversationId)}`;
    case 'invite':
      return `/invite/${encodeURIComponent(route.token)}`;
    case 'sign-in':
      return '/sign-in';
    case 'sign-up':
      return '/sign-up';
    case 'settings':
      return '/settings';
    case 'apps':
      return '/settings/apps';
  }
}

const listeners = new Set<() => void>();
const notify = () => {
  for (const listener of listeners) listener();
};
window.addEventListener('popstate', notify);

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Goes to a route (a new history entry unless `replace`). */
export function navigate(route: Route | string, options: { replace?: boolean } = {}): void {
  const path = typeof route === 'string' ? route : pathOf(route);
  if (path === location.pathname + location.search) return;
  if (options.replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  notify();
}

/** The current path; re-renders on navigation. */
export function usePathname(): string {
  return useSyncExternalStore(subscribe, () => location.pathname);
}

export function useRoute(): Route {
  return parseRoute(usePathname());
}
