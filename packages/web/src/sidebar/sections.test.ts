import type { ConversationKind, ConversationView } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import type { ConversationEntry } from '../live/live.js';
import { sectionsOf } from './sections.js';

function entry(id: string, kind: ConversationKind, lastActivity: string): ConversationEntry {
  const view = { conversation: { id, kind } } as unknown as ConversationView;
  return { view, unread: 0, mentions: 0, messages: null, olderBefore: null, lastActivity, apps: null, appCalls: null };
}

describe('sidebar sections', () => {
  it('[WB6] [WB7] groups apart from direct and assistant chats, each newest activity first', () => {
    const sections = sectionsOf([
      entry('g1', 'group', '2026-12-02T10:00:00.000Z'),
      entry('d1', 'direct', '2026-12-02T09:00:00.000Z'),
      entry('g2', 'group', '2026-12-02T11:00:00.000Z'),
      entry('a1', 'assistant', '2026-12-02T12:00:00.000Z'),
      entry('d2', 'direct', '2026-12-02T09:30:00.000Z'),
    ]);
    expect(sections.group.map((item) => item.view.conversation.id)).toEqual(['g2', 'g1']);
    expect(sections.direct.map((item) => item.view.conversation.id)).toEqual(['d2', 'd1']);
    expect(sections.assistant.map((item) => item.view.conversation.id)).toEqual(['a1']);
  });
});
