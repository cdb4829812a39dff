/**
 * A long conversation history for the benchmarks that read one (B8, B10): messages and their
 * `message-created` events written in bulk the way the server writes them, with the server stopped.
 */
import { type ConversationEvent, type Message } from '@parley/protocol';
import { ParleyClient } from '@parley/sdk';
import type { Storage } from '@parley/server';

export const ROWS_PER_INSERT = 500;
const ROWS_PER_TRANSACTION = 50_000;

const WORDS = 'the a we can meet at noon tomorrow bring maps and snacks who is driving I think the museum opens late on friday sounds good see you there'.split(' ');

export function sentence(index: number): string {
  const length = 4 + ((index * 7919) % 30);
  return Array.from({ length }, (_, word) => WORDS[(index * 31 + word * 17) % WORDS.length]).join(' ');
}

/**
 * The bulk history ends this long ago: one message a second up to a day and an hour before now, so
 * it is history and not what the assistant was away for. A restarted assistant reads the last day
 * of its conversations and records a decision on each unaddressed message (assistant RC2): on a
 * history that ran up to now, that is 86,400 decisions written while the bench measures.
 */
export const HISTORY_ENDS_AGO_MS = 25 * 60 * 60_000;

/** Writes `count` messages (and their message-created events) the way the server would, in bulk. */
export async function populate(storage: Storage, conversationId: string, authors: string[], count: number): Promise<void> {
  const conversation = await storage.writer.selectFrom('conversations').select('last_seq').where('id', '=', conversationId).executeTakeFirstOrThrow();
  let seq = conversation.last_seq;
  const start = Date.now() - HISTORY_ENDS_AGO_MS - count * 1000;
  const began = performance.now();
  for (let done = 0; done < count; ) {
    const inTransaction = Math.min(ROWS_PER_TRANSACTION, count - done);
    await storage.writer.transaction().execute(async (trx) => {
      for (let offset = 0; offset < inTransaction; offset += ROWS_PER_INSERT) {
        const messages = [];
        const events = [];
        for (let index = 0; index < Math.min(ROWS_PER_INSERT, inTransaction - offset); index += 1) {
          seq += 1;
          const at = new Date(start + (done + offset + index) * 1000).toISOString();
          const authorId = authors[seq % authors.length] ?? '';
          const message: Message = {
            id: `bulk-${conversationId.slice(0, 8)}-${seq}`,
            conversationId,
            seq,
            authorId,
            text: sentence(seq),
            mentions: [],
            replyToId: null,
            attachments: [],
            reactions: [],
            createdAt: at,
            editedAt: null,
            deletedAt: null,
            turn: null,
          };
          messages.push({
            id: message.id,
            conversation_id: conversationId,
            seq,
            author_id: authorId,
            text: message.text,
            mentions: '[]',
            reply_to_id: null,
            created_at: at,
            edited_at: null,
            deleted_at: null,
          });
          const event: ConversationEvent = { type: 'message-created', actorId: authorId, message, conversationId, seq, at };
          events.push({ conversation_id: conversationId, seq, type: event.type, payload: JSON.stringify(event), created_at: at });
        }
        await trx.insertInto('messages').values(messages).execute();
        await trx.insertInto('events').values(events).execute();
      }
      await trx
        .updateTable('conversations')
        .set({ last_seq: seq, updated_at: new Date(start + (done + inTransaction) * 1000).toISOString() })
        .where('id', '=', conversationId)
        .execute();
    });
    done += inTransaction;
    process.stderr.write(`\r  populated ${done.toLocaleString('en-US')} / ${count.toLocaleString('en-US')} (${Math.round(done / ((performance.now() - began) / 1000))} rows/s)`);
  }
  process.stderr.write('\n');
}


/**
 * Three people signed up on the server at `url` and two groups of them: `big` (empty, for
 * `populate`) and `small`, holding `small` messages sent through the API by each in turn.
 */
export async function seedTwoGroups(url: string, options: { password: string; small: number }) {
  const stamp = Date.now().toString(36);
  const people = await Promise.all(['ann', 'bob', 'cy'].map((name) => ParleyClient.signUp(url, { username: `${name}_${stamp}`, password: options.password, displayName: name })));
  const [ann, ...others] = people;
  if (!ann) throw new Error('three people');
  const usernames = others.map((person) => person.user.username);
  const big = await ann.client.api.createConversation({ body: { kind: 'group', title: 'Long history', usernames } });
  const small = await ann.client.api.createConversation({ body: { kind: 'group', title: 'Short history', usernames } });
  for (let index = 0; index < options.small; index += 1) {
    const person = people[index % people.length] ?? ann;
    await person.client.api.sendMessage({ params: { conversationId: small.conversation.id }, body: { id: `small-${stamp}-${index}`, text: sentence(index) } });
  }
  return { stamp, people, ann, big, small };
}
