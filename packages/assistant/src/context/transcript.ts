import type { Member, Message, UserSummary } from '@parley/protocol';

/** How a message's author is named to the model. */
export interface Speakers {
  /** The assistant's own account. */
  readonly selfId: string;
  /** The name shown before a person's message: display name, or `@username` without one. */
  label(userId: string): string;
}

const FORMER_MEMBER = 'a former member';

/** One line of text: names and filenames are written into the prompt, so no line breaks. */
function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/**
 * Names every known account. Display names are what people call each other, so they come first;
 * two people with the same display name are told apart by their usernames. `people` adds
 * accounts that are not members any more (authors of older messages).
 */
export function speakersOf(members: readonly Member[], people: readonly UserSummary[], selfId: string): Speakers {
  const users = new Map<string, UserSummary>();
  for (const person of people) users.set(person.id, person);
  for (const member of members) users.set(member.userId, member.user);
  const holders = new Map<string, number>();
  for (const user of users.values()) {
    const name = oneLine(user.displayName ?? '');
    if (name) holders.set(name.toLowerCase(), (holders.get(name.toLowerCase()) ?? 0) + 1);
  }
  const labels = new Map<string, string>();
  for (const user of users.values()) {
    const name = oneLine(user.displayName ?? '');
    const handle = `@${user.username}`;
    labels.set(user.id, !name ? handle : (holders.get(name.toLowerCase()) ?? 0) > 1 ? `${name} (${handle})` : name);
  }
  return { selfId, label: (userId) => labels.get(userId) ?? FORMER_MEMBER };
}

/** How an assistant answer that did not complete is marked, so the model does not take it as whole. */
export function turnMarker(turn: Message['turn']): string | null {
  if (!turn) return null;
  switch (turn.status) {
    case 'completed':
      return null;
    case 'stopped':
      return '[This answer was stopped by a member before it was finished.]';
    case 'failed':
      return `[This answer failed before it was finished${turn.error ? ` (${oneLine(turn.error.code)})` : ''}.]`;
    case 'interrupted':
      return '[This answer was cut off by a server restart before it was finished.]';
  }
}

/** Attachments are named, not inlined: `[attached: plan.pdf (application/pdf)]`. */
export function attachmentLines(message: Message): string[] {
  return message.attachments.map((attachment) => `[attached: ${oneLine(attachment.filename)} (${oneLine(attachment.contentType)})]`);
}

const QUOTE_LENGTH = 80;

function quote(text: string): string {
  const line = oneLine(text);
  return line.length > QUOTE_LENGTH ? `${line.slice(0, QUOTE_LENGTH)}…` : line;
}

export interface RenderedMessage {
  seq: number;
  role: 'user' | 'assistant';
  content: string;
}

/**
 * One message as the model reads it, or null for what it must not see (a deleted message).
 * `named`: prefix people's messages with their name (in a group; a one-to-one chat has one person).
 */
export function renderMessage(
  message: Message,
  speakers: Speakers,
  options: { named: boolean; earlier: ReadonlyMap<string, Message> },
): RenderedMessage | null {
  if (message.deletedAt !== null) return null;
  const parts: string[] = [];
  if (message.text.trim()) parts.push(message.text);
  parts.push(...attachmentLines(message));
  if (message.authorId === speakers.selfId) {
    const marker = turnMarker(message.turn);
    if (marker) parts.push(marker);
    if (parts.length === 0) return null;
    return { seq: message.seq, role: 'assistant', content: parts.join('\n') };
  }
  if (parts.length === 0) return null;
  let head = options.named ? speakers.label(message.authorId) : '';
  if (message.replyToId !== null) {
    const target = options.earlier.get(message.replyToId);
    const note =
      !target || target.deletedAt !== null
        ? 'replying to an earlier message'
        : `replying to ${target.authorId === speakers.selfId ? 'you' : speakers.label(target.authorId)}: "${quote(target.text)}"`;
    head = head ? `${head} (${note})` : `(${note})`;
  }
  return { seq: message.seq, role: 'user', content: head ? `${head}: ${parts.join('\n')}` : parts.join('\n') };
}
