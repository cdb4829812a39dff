import type { ConversationKind } from '@parley/protocol';
import type { ConversationEntry } from '../live/live.js';

export const SECTION_ORDER: readonly ConversationKind[] = ['group', 'direct', 'assistant'];

/** The sidebar's sections: groups apart from one-to-one chats, each newest activity first [WB7]. */
export function sectionsOf(conversations: Iterable<ConversationEntry>): Record<ConversationKind, ConversationEntry[]> {
  const sections: Record<ConversationKind, ConversationEntry[]> = { group: [], direct: [], assistant: [] };
  for (const entry of conversations) sections[entry.view.conversation.kind].push(entry);
  for (const list of Object.values(sections)) {
    list.sort((a, b) => b.lastActivity.localeCompare(a.lastActivity) || b.view.conversation.id.localeCompare(a.view.conversation.id));
  }
  return sections;
}
