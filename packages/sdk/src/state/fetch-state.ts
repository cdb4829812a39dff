import type { Message } from '@parley/protocol';
import type { ParleyClient } from '../http/client.js';
import type { ConversationState } from './conversation-state.js';

/** Reads a conversation's whole state over HTTP: the conversation, its members, every message, its apps and their calls. */
export async function fetchConversationState(client: ParleyClient, conversationId: string): Promise<ConversationState> {
  const view = await client.api.getConversation({ params: { conversationId } });
  const messages: Message[] = [];
  let before: number | undefined;
  for (;;) {
    const page = await client.api.listMessages({
      params: { conversationId },
      query: { limit: 200, ...(before !== undefined ? { before } : {}) },
    });
    messages.unshift(...page.messages);
    if (page.nextBefore === null) break;
    before = page.nextBefore;
  }
  const [apps, calls] = await Promise.all([
    client.api.listConversationApps({ params: { conversationId } }),
    client.api.listAppCalls({ params: { conversationId } }),
  ]);
  return { conversation: view.conversation, members: view.members, messages, apps: apps.enabled, appCalls: calls.calls };
}
