import type { Message, NotificationLevel } from '@parley/protocol';

/** What the notifier needs of an incoming message and where the person is. */
export interface NotifyCase {
  message: Pick<Message, 'authorId' | 'mentions' | 'deletedAt'>;
  level: NotificationLevel;
  meId: string;
  /** Its conversation is the one on screen, in a visible tab. */
  onScreen: boolean;
}

/**
 * Whether a message that just arrived makes a desktop notification [WB66]: not one's own, not
 * while its conversation is on screen in a visible tab, and only what the conversation's setting
 * lets through: every message (`all`), messages that mention the account (`mentions`), nothing
 * (`muted`).
 */
export function shouldNotify({ message, level, meId, onScreen }: NotifyCase): boolean {
  if (message.authorId === meId || message.deletedAt !== null || onScreen) return false;
  if (level === 'muted') return false;
  if (level === 'mentions') return message.mentions.includes(meId);
  return true;
}

/**
 * The number in the tab's title [WB67]: unread messages of the conversations that are not muted
 * (a muted one still counts its mentions, as its badge shows them).
 */
export function unreadTotal(entries: Iterable<{ unread: number; mentions: number; view: { me: { notifications: NotificationLevel } } }>): number {
  let total = 0;
  for (const entry of entries) total += entry.view.me.notifications === 'muted' ? entry.mentions : entry.unread;
  return total;
}

/** "(3) Parley", or "Parley" with nothing unread [WB67]. */
export function titleWithUnread(total: number, base = 'Parley'): string {
  return total > 0 ? `(${total > 999 ? '999+' : total}) ${base}` : base;
}

/** A notification's text: the message on one line, cut at a length a notification shows. */
export function bodyOf(text: string, max = 180): string {
  const line = text
    .replace(/```[^\n]*\n?/g, '')
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/[*~`#>|]+/g, '')
    // Emphasis by underscores, not the ones inside a word (`@cam_lee`, `snake_case`).
    .replace(/(^|[^\p{L}\p{N}_])_+|_+(?=[^\p{L}\p{N}_]|$)/gu, '$1')
    .replace(/\s+/g, ' ')
    .trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
