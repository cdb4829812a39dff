import type { ConversationView, Member } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { chipNames, mentionCandidates, mentionQuery, suggest } from './mentions.js';

const at = '2026-12-02T10:00:00.000Z';
function member(userId: string, username: string, displayName: string | null, role: Member['role'] = 'member'): Member {
  return { userId, user: { id: userId, username, displayName, avatarUrl: null, kind: role === 'assistant' ? 'bot' : 'human' }, role, joinedAt: at, lastReadSeq: 0 };
}
const view = {
  conversation: { assistant: { name: 'Sage', personality: '', mode: 'auto', talkativeness: 0.5 } },
  members: [member('a', 'ann', 'Ann'), member('b', 'bea_m', 'Béa Martin'), member('s', 'parley_bot', null, 'assistant')],
} as unknown as ConversationView;

describe('[WB24] mention autocomplete', () => {
  it('finds the @query before the caret, not inside a word or an e-mail address', () => {
    expect(mentionQuery('hi @be', 6)).toEqual({ start: 3, query: 'be' });
    expect(mentionQuery('@', 1)).toEqual({ start: 0, query: '' });
    expect(mentionQuery('ann@ex', 6)).toBeNull();
    expect(mentionQuery('hi @be there', 12)).toBeNull();
  });

  it('offers the other members by username and the assistant by its current name', () => {
    const candidates = mentionCandidates(view, 'a');
    expect(candidates.map((candidate) => candidate.handle)).toEqual(['bea_m', 'Sage']);
    expect(suggest(candidates, 'sa').map((candidate) => candidate.label)).toEqual(['Sage']);
    expect(suggest(candidates, 'mar').map((candidate) => candidate.handle)).toEqual(['bea_m']);
    expect(suggest(candidates, '').length).toBe(2);
  });

  it('a name that is no handle is mentioned by the assistant account', () => {
    const spaced = { ...view, conversation: { assistant: { name: 'Le Sage' } } } as unknown as ConversationView;
    expect(mentionCandidates(spaced, 'a').at(-1)).toMatchObject({ handle: 'parley_bot', label: 'Le Sage' });
  });

  it('chips are what the markdown-aware rule finds and the group knows, never code', () => {
    expect([...chipNames('@ann and `@bea_m` and @sage and @nobody', view)]).toEqual(['ann', 'sage']);
  });
});
