import type { AssistantContext, Conversation } from '@parley/protocol';

/** The owner's own data, present in a one-to-one `assistant` conversation only. */
export type PersonalContext = NonNullable<AssistantContext['personal']>;

/**
 * A group (or direct) conversation as the prompt sees it: `personal` is `null` by type, so no
 * member's memory or custom instructions can be handed to a shared prompt without a cast.
 */
export type SharedConversationContext = Omit<AssistantContext, 'conversation' | 'personal'> & {
  conversation: Conversation & { kind: 'group' | 'direct' };
  personal: null;
};

/** A one-to-one `assistant` conversation: its owner's instructions and memories may be present. */
export type OneToOneContext = Omit<AssistantContext, 'conversation'> & {
  conversation: Conversation & { kind: 'assistant' };
};

export type PromptContext = SharedConversationContext | OneToOneContext;

/**
 * Narrows what the server sent to what a prompt may use. Personal data that arrives with a
 * shared conversation (a server bug, or a caller mixing contexts up) is dropped here, so it
 * never reaches a prompt. See SPEC.md [CX4].
 */
export function toPromptContext(context: AssistantContext): PromptContext {
  const { conversation } = context;
  if (conversation.kind === 'assistant') return { ...context, conversation: { ...conversation, kind: conversation.kind } };
  return { ...context, conversation: { ...conversation, kind: conversation.kind }, personal: null };
}

/**
 * The personal data a prompt may use: only in a one-to-one `assistant` conversation, and only
 * its owner's. Checked again at run time whatever the static type says, because a cast or a
 * JSON value can carry anything.
 */
export function personalDataOf(context: PromptContext | AssistantContext): PersonalContext | null {
  const { conversation, personal } = context as AssistantContext;
  if (conversation.kind !== 'assistant' || !personal) return null;
  if (personal.userId !== conversation.createdBy) return null;
  return personal;
}
