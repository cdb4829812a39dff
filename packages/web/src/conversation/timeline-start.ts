/** Where Virtuoso's count of a timeline starts: the key of its first item and that item's index. */
export interface TimelineStart {
  key: string;
  index: number;
}

/**
 * The start of a timeline after its items changed, from the start before. Virtuoso reads a lower
 * `firstItemIndex` as items put before the first one (older pages, a call that waited for them)
 * and keeps the view still; so the index goes down by what now comes before the item that was
 * first, and never for what is added at the end (a message, a call card), which a list at the
 * bottom must follow [WB9]. Counting every item instead made each new one at the end look like
 * an older one: the view stayed put and the newest card was left below it, out of sight.
 */
export function timelineStart(previous: TimelineStart, keys: readonly string[]): TimelineStart {
  const key = keys[0];
  if (key === undefined || key === previous.key) return previous;
  const at = keys.indexOf(previous.key);
  // The former first item is gone (or the list was empty): nothing is known to be put before.
  return { key, index: at > 0 ? previous.index - at : previous.index };
}
