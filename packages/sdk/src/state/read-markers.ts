import type { Member, Message } from '@parley/protocol';

/**
 * The first message another member wrote after a read marker: where a "new messages" divider
 * goes when a conversation is opened. Deleted messages are skipped (there is nothing to read);
 * undefined when everything held was read.
 */
export function firstUnread(messages: readonly Message[], lastReadSeq: number, userId: string): Message | undefined {
  return messages.find((message) => message.seq > lastReadSeq && message.authorId !== userId && message.deletedAt === null);
}

/**
 * Who has seen what, from the members' read markers: for each message, the members whose marker
 * stops there (at it or before the next message held), so each member shows once, under the
 * newest message they have read. Members listed in `except` (the reader, the assistant) and
 * members who have not reached the first message held are left out; a member is never shown
 * under their own message alone, since writing it is not news to them.
 */
export function seenBy(messages: readonly Message[], members: readonly Member[], except: ReadonlySet<string> = new Set()): Map<string, Member[]> {
  const seen = new Map<string, Member[]>();
  if (messages.length === 0) return seen;
  for (const member of members) {
    if (except.has(member.userId)) continue;
    // The newest message held at or before the marker: a binary search, messages are in sequence order.
    let low = 0;
    let high = messages.length - 1;
    let found = -1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      if (messages[middle]!.seq <= member.lastReadSeq) {
        found = middle;
        low = middle + 1;
      } else high = middle - 1;
    }
    // Their own messages past what they read still count as seen by them: skip to the newest of those.
    while (found + 1 < messages.length && messages[found + 1]!.authorId === member.userId) found += 1;
    if (found === -1) continue;
    const message = messages[found]!;
    if (message.authorId === member.userId) continue;
    seen.set(message.id, [...(seen.get(message.id) ?? []), member]);
  }
  return seen;
}
