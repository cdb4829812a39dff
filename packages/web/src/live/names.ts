import type { ConversationView, Member, UserSummary } from '@parley/protocol';
import type { TFunction } from 'i18next';

export function nameOf(user: UserSummary | undefined): string {
  if (!user) return '?';
  return user.displayName ?? `@${user.username}`;
}

/** What a conversation is called in the list and its header. */
export function titleOf(t: TFunction, view: ConversationView, meId: string): string {
  const { conversation, members } = view;
  if (conversation.title) return conversation.title;
  if (conversation.kind === 'direct') return nameOf(members.find((member) => member.userId !== meId && member.role !== 'assistant')?.user);
  if (conversation.kind === 'assistant') return conversation.assistant?.name ?? t('sidebar.assistantChat');
  const people = members.filter((member) => member.role !== 'assistant' && member.userId !== meId).map((member) => nameOf(member.user));
  return people.length > 0 ? people.slice(0, 3).join(', ') : t('sidebar.untitledGroup');
}

export function initialsOf(name: string): string {
  const words = name.replace(/^@/, '').split(/\s+/).filter((word) => word !== '');
  return (words.length > 1 ? (words[0]?.[0] ?? '') + (words[1]?.[0] ?? '') : name.replace(/^@/, '').slice(0, 2)).toUpperCase();
}

/**
 * Each member's user by id. The assistant goes by the name this conversation gives it [WB31]: its
 * messages and its row in the member list say that name, not the bot account's.
 */
export function memberMap(members: readonly Member[], assistantName?: string): Map<string, UserSummary> {
  return new Map(members.map((member) => [member.userId, memberUser(member, assistantName)]));
}

export function memberUser(member: Member, assistantName?: string): UserSummary {
  return member.role === 'assistant' && assistantName ? { ...member.user, displayName: assistantName } : member.user;
}

/** A message as one line of plain text for the sidebar: links by their text, no markdown marks. */
export function previewOf(text: string): string {
  return text
    // A code fence goes with its language word.
    .replace(/```[^\n]*\n?/g, '')
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/[*~`#>|]+/g, '')
    // Underscores that emphasise (at a word's edge), not those inside a name such as @cam_lee.
    .replace(/(^|[^\p{L}\p{N}_])_+|_+(?=[^\p{L}\p{N}_]|$)/gu, '$1')
    .replace(/\s+/g, ' ')
    .trim();
}
