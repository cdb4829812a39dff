import { type ConversationView, type Member, mentionedUsernames } from '@parley/protocol';
import { nameOf } from '../live/names.js';

/** Someone the composer can mention: a member, or the assistant by its current name. */
export interface MentionCandidate {
  userId: string;
  /** What is written after the `@`. */
  handle: string;
  /** What the list shows. */
  label: string;
  member: Member;
}

const HANDLE = /^[A-Za-z0-9_]{3,32}$/;

/**
 * Who can be mentioned in a conversation: the other people by username, and the assistant by its
 * current name when that is a handle (`@Sage`), else by its account's username [WB24].
 */
export function mentionCandidates(view: ConversationView, meId: string): MentionCandidate[] {
  const assistantName = view.conversation.assistant?.name ?? '';
  return [...view.members]
    .filter((member) => member.userId !== meId)
    // People by name, then the assistant.
    .sort((a, b) => Number(a.role === 'assistant') - Number(b.role === 'assistant') || nameOf(a.user).localeCompare(nameOf(b.user)))
    .map((member) =>
      member.role === 'assistant'
        ? { userId: member.userId, handle: HANDLE.test(assistantName) ? assistantName : member.user.username, label: assistantName || nameOf(member.user), member }
        : { userId: member.userId, handle: member.user.username, label: nameOf(member.user), member },
    );
}

/** The `@query` being typed just before the caret, or null. */
export function mentionQuery(text: string, caret: number): { start: number; query: string } | null {
  const match = /(?:^|[^\p{L}\p{N}_.+\-@])@([A-Za-z0-9_]{0,32})$/u.exec(text.slice(0, caret));
  if (!match) return null;
  const query = match[1] ?? '';
  return { start: caret - query.length - 1, query };
}

/** Candidates whose handle or shown name starts with the query (or has a word that does), handles first. */
export function suggest(candidates: readonly MentionCandidate[], query: string, limit = 8): MentionCandidate[] {
  const wanted = query.toLowerCase();
  const byHandle = candidates.filter((candidate) => candidate.handle.toLowerCase().startsWith(wanted));
  const byName = candidates.filter(
    (candidate) => !byHandle.includes(candidate) && candidate.label.toLowerCase().split(/\s+/).some((word) => word.replace(/^@/, '').startsWith(wanted)),
  );
  return [...byHandle, ...byName].slice(0, limit);
}

/**
 * The names to show as chips in a message: those protocol's markdown-aware rule finds in its
 * text (never inside code) that name someone in the conversation, or the assistant by its name.
 */
export function chipNames(text: string, view: ConversationView): ReadonlySet<string> {
  const found = mentionedUsernames(text);
  if (found.length === 0) return new Set();
  const known = new Set(view.members.map((member) => member.user.username.toLowerCase()));
  const assistantName = view.conversation.assistant?.name.toLowerCase();
  if (assistantName) known.add(assistantName);
  return new Set(found.filter((name) => known.has(name)));
}
