import fs from 'node:fs';
import path from 'node:path';
import type { Member } from '@parley/protocol';
import type { Kysely } from 'kysely';
import { hashPassword } from '../accounts/passwords.js';
import { toUserSummary, type UserRow } from '../accounts/users.js';
import type { ServerConfig } from '../config.js';
import { DEFAULT_ASSISTANT } from '../conversations/views.js';
import type { EventLog } from '../events/event-log.js';
import { newId, newSecret, sha256 } from '../ids/ids.js';
import type { Database } from '../storage/schema.js';

/** The assistant's bot account. No person may take the name [AS1]. */
export const ASSISTANT_USERNAME = 'assistant';
export const RESERVED_USERNAMES: ReadonlySet<string> = new Set([ASSISTANT_USERNAME]);

/** The assistant's session never expires: it is the server's own member [AS1]. */
const NEVER = '9999-12-31T23:59:59.999Z';
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{16,128}$/;
const TOKEN_FILE = 'assistant-token';
/** Conversations given their missing assistant per write, when an older database is opened. */
const BACKFILL_CHUNK = 100;

export interface AssistantAccount {
  readonly userId: string;
  /** Bearer token of the bot account: the in-process assistant, or a remote one, signs in with it. */
  readonly token: string;
}

/**
 * The configured token, or the one kept in `<dataDir>/assistant-token`, written there once
 * (mode 0600) when there is none.
 */
export function assistantToken(config: Pick<ServerConfig, 'assistantToken' | 'dataDir'>): string {
  if (config.assistantToken !== undefined) {
    if (!TOKEN_PATTERN.test(config.assistantToken)) {
      throw new Error('the assistant token (PARLEY_ASSISTANT_TOKEN) must be 16 to 128 characters of A-Z, a-z, 0-9, _ or -');
    }
    return config.assistantToken;
  }
  const file = path.join(config.dataDir, TOKEN_FILE);
  fs.mkdirSync(config.dataDir, { recursive: true });
  try {
    // `wx`: two processes starting on one data directory cannot both write a token.
    fs.writeFileSync(file, `${newSecret()}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const token = fs.readFileSync(file, 'utf8').trim();
  if (!TOKEN_PATTERN.test(token)) throw new Error(`${file} does not hold a valid token; delete it to have a new one made`);
  return token;
}

/** Whether an account is the assistant's bot account. */
export function isAssistant(user: Pick<UserRow, 'kind' | 'username'>): boolean {
  return user.kind === 'bot' && user.username === ASSISTANT_USERNAME;
}

async function findAssistant(db: Kysely<Database>): Promise<UserRow | undefined> {
  return db.selectFrom('users').selectAll().where('username', '=', ASSISTANT_USERNAME).executeTakeFirst();
}

/**
 * Creates the assistant's bot account if it is missing, makes its token's session valid for
 * ever, and makes it a member of any assistant or group conversation that lacks it (a database
 * from before protocol 2). A token set in the configuration is the only one that works: others
 * the account had are revoked, so changing the setting rotates the token.
 */
export async function ensureAssistantAccount(
  options: { log: EventLog; reader: Kysely<Database>; config: Pick<ServerConfig, 'assistantToken' | 'dataDir'> },
): Promise<AssistantAccount> {
  const { log, reader, config } = options;
  const token = assistantToken(config);
  const tokenHash = sha256(token);
  let user = await findAssistant(reader);
  if (user && user.kind !== 'bot') {
    throw new Error(`@${ASSISTANT_USERNAME} belongs to a person's account (made before the name was reserved); rename it first`);
  }
  if (!user) {
    // Nobody signs in as the assistant with a password: the hash is of a secret thrown away.
    const passwordHash = await hashPassword(newSecret());
    const id = newId();
    const row: UserRow = {
      id,
      username: ASSISTANT_USERNAME,
      display_name: DEFAULT_ASSISTANT.name,
      password_hash: passwordHash,
      age_band: 'adult',
      kind: 'bot',
      avatar_id: null,
      profile_complete: 1,
      group_chats_allowed: 1,
      admin: 0,
      created_at: new Date().toISOString(),
    };
    try {
      await log.write(async ({ db, now }) => {
        if (await findAssistant(db)) return;
        await db.insertInto('users').values({ ...row, created_at: now }).execute();
      });
    } catch (error) {
      // Another node made it at the same moment: use theirs.
      if (!(await findAssistant(reader))) throw error;
    }
    user = await findAssistant(reader);
    if (!user) throw new Error('the assistant account was just made');
  }
  const userId = user.id;
  await log.write(async ({ db, now }) => {
    if (config.assistantToken !== undefined) {
      await db.deleteFrom('sessions').where('user_id', '=', userId).where('token_hash', '!=', tokenHash).execute();
    }
    const session = await db.selectFrom('sessions').select(['user_id', 'expires_at']).where('token_hash', '=', tokenHash).executeTakeFirst();
    if (session && session.user_id !== userId) throw new Error('the assistant token is already the session of another account; choose another');
    if (!session) {
      await db.insertInto('sessions').values({ token_hash: tokenHash, user_id: userId, kind: 'token', created_at: now, expires_at: NEVER }).execute();
    } else if (session.expires_at !== NEVER) {
      await db.updateTable('sessions').set({ expires_at: NEVER }).where('token_hash', '=', tokenHash).execute();
    }
  });
  await backfillMemberships(log, reader, user);
  return { userId, token };
}

async function backfillMemberships(log: EventLog, reader: Kysely<Database>, assistant: UserRow): Promise<void> {
  for (;;) {
    const missing = await reader
      .selectFrom('conversations')
      .select('id')
      .where('kind', 'in', ['assistant', 'group'])
      .where((eb) =>
        eb.not(
          eb.exists(
            eb
              .selectFrom('members')
              .select('members.user_id')
              .whereRef('members.conversation_id', '=', 'conversations.id')
              .where('members.user_id', '=', assistant.id),
          ),
        ),
      )
      .limit(BACKFILL_CHUNK)
      .execute();
    if (missing.length === 0) return;
    await log.write(async (write) => {
      for (const { id } of missing) {
        // Read again inside the write: another node may have done it meanwhile.
        const present = await write.db
          .selectFrom('members')
          .select('user_id')
          .where('conversation_id', '=', id)
          .where('user_id', '=', assistant.id)
          .executeTakeFirst();
        if (present) continue;
        const member: Member = { userId: assistant.id, user: toUserSummary(assistant), role: 'assistant', joinedAt: write.now, lastReadSeq: 0 };
        await write.db
          .insertInto('members')
          .values({ conversation_id: id, user_id: assistant.id, role: 'assistant', joined_at: write.now, last_read_seq: 0, notifications: 'all' })
          .execute();
        await write.append(id, { type: 'member-added', actorId: assistant.id, member, via: 'username' });
      }
    });
    if (missing.length < BACKFILL_CHUNK) return;
  }
}
