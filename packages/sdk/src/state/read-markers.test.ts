import type { Member, Message } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { firstUnread, seenBy } from './read-markers.js';

const at = '2026-12-02T10:00:00.000Z';
function message(seq: number, authorId: string, deleted = false): Message {
  return {
    id: `m${seq}`, conversationId: 'c', seq, authorId, text: deleted ? '' : `text ${seq}`, mentions: [], replyToId: null, attachments: [], reactions: [],
    createdAt: at, editedAt: null, deletedAt: deleted ? at : null, turn: null,
  };
}
function member(userId: string, lastReadSeq: number): Member {
  return { userId, user: { id: userId, username: userId, displayName: null, avatarUrl: null, kind: 'human' }, role: 'member', joinedAt: at, lastReadSeq };
}

describe('firstUnread', () => {
  const messages = [message(2, 'ann'), message(3, 'bea'), message(5, 'bea', true), message(6, 'ann'), message(8, 'bea')];
  it("is the first message of someone else after the marker; one's own and deleted ones are skipped", () => {
    expect(firstUnread(messages, 2, 'ann')?.id).toBe('m3');
    expect(firstUnread(messages, 3, 'ann')?.id).toBe('m8');
    expect(firstUnread(messages, 4, 'bea')?.id).toBe('m6');
    expect(firstUnread(messages, 8, 'ann')).toBeUndefined();
  });
});

describe('seenBy', () => {
  const messages = [message(2, 'ann'), message(3, 'bea'), message(5, 'ann'), message(7, 'ann')];
  it('puts each member under the newest message their marker reached', () => {
    // A marker between two messages (an event that is no message moved it) counts the older one.
    const seen = seenBy(messages, [member('bea', 6), member('cid', 3), member('dan', 7)]);
    expect(seen.get('m5')?.map((item) => item.userId)).toEqual(['bea']);
    expect(seen.get('m3')?.map((item) => item.userId)).toEqual(['cid']);
    expect(seen.get('m7')?.map((item) => item.userId)).toEqual(['dan']);
    expect(seen.get('m2')).toBeUndefined();
  });

  it('leaves out the members named, those before the first message held, and a member at their own message', () => {
    const seen = seenBy(messages, [member('ann', 7), member('eve', 1), member('bea', 3)], new Set(['ann']));
    expect([...seen.values()].flat()).toEqual([]);
  });

  it("a member's own messages after their marker count as read: they show after them only if someone else wrote next", () => {
    const list = [message(2, 'ann'), message(3, 'bea'), message(4, 'bea'), message(5, 'ann')];
    expect([...seenBy(list, [member('bea', 2)]).values()].flat()).toEqual([]);
    expect(seenBy(list, [member('bea', 5)]).get('m5')?.map((item) => item.userId)).toEqual(['bea']);
    expect(seenBy([], [member('bea', 5)]).size).toBe(0);
  });
});
