import { createContext, useContext, useSyncExternalStore } from 'react';
import type { Live, LiveSnapshot } from './live.js';

export const LiveContext = createContext<Live | null>(null);

export function useLiveStore(): Live {
  const live = useContext(LiveContext);
  if (!live) throw new Error('useLive outside <LiveContext>');
  return live;
}

/** The live snapshot: re-renders on every change of it. */
export function useLive(): LiveSnapshot {
  const live = useLiveStore();
  return useSyncExternalStore(live.subscribe, live.getSnapshot);
}
