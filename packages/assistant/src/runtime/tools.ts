import { type AssistantContext, toStorableText } from '@parley/protocol';
import type { ParleyClient } from '@parley/sdk';
import { z } from 'zod';
import type { AnyChatTool } from '../providers/chat-model.js';

/** In a one-to-one chat the model may save what the person asks it to remember; never in a group. */
export function answerTools(client: ParleyClient, conversationId: string, context: AssistantContext): Record<string, AnyChatTool> {
  if (context.conversation.kind !== 'assistant') return {};
  const remember: AnyChatTool = {
    description: 'Save a short fact about the person for later conversations, when they ask you to remember it or it is clearly useful.',
    inputSchema: z.object({ fact: z.string().min(1).max(1000) }),
    execute: async (input: never) => {
      const { fact } = input as { fact: string };
      await client.api.rememberForOwner({ params: { conversationId }, body: { text: toStorableText(fact) } });
      return 'saved';
    },
  };
  return { remember };
}
