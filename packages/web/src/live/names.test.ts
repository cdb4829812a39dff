import { describe, expect, it } from 'vitest';
import type { Member } from '@parley/protocol';
import { memberMap, previewOf } from './names.js';

describe('previewOf', () => {
  it('[WB6] shows a message in the sidebar as plain text', () => {
    expect(previewOf('Chamonix is **lovely**\nin `winter`, see [the map](https://example.com)')).toBe('Chamonix is lovely in winter, see the map');
  });
  it('[WB6] keeps the underscores of a name and drops a code fence with its language', () => {
    expect(previewOf('Ask @cam_lee about _this_ and __that__')).toBe('Ask @cam_lee about this and that');
    expect(previewOf('Try this:\n```ts\nconst a = 1;\n```')).toBe('Try this: const a = 1;');
  });
});

describe('memberMap', () => {
  it('[WB31] the assistant goes by the name the conversation gives it; people keep theirs', () => {
    const at = '2026-12-02T00:00:00.000Z';
    const member = (userId: string, role: Member['role'], displayName: string): Member =>
      ({ userId, role, joinedAt: at, lastReadSeq: 0, user: { id: userId, username: userId, displayName, avatarUrl: null, kind: role === 'assistant' ? 'bot' : 'human' } });
    const members = [member('bot', 'assistant', 'Parley'), member('ann', 'creator', 'Ann')];
    const users = memberMap(members, 'Sage');
    expect(users.get('bot')?.displayName).toBe('Sage');
    expect(users.get('ann')?.displayName).toBe('Ann');
    expect(memberMap(members).get('bot')?.displayName).toBe('Parley');
  });
});
