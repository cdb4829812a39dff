import { ParleyError } from '@parley/protocol';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import type { Kysely } from 'kysely';
import type { ServerContext } from '../context.js';
import { isAdmin } from './admins.js';
import type { Clock } from '../events/event-log.js';
import { newSecret, sha256 } from '../ids/ids.js';
import { onSqlite, PreparedQuery } from '../storage/prepared.js';
import type { Database } from '../storage/schema.js';

export const SESSION_COOKIE = 'parley_session';

export interface Auth {
  userId: string;
  /** The session's token hash: identifies the session without revealing the token. */
  sessionId: string;
  via: 'cookie' | 'bearer';
  /** The account's kind: bot-only routes refuse a person on it before reading the body [AS3]. */
  kind: 'human' | 'bot';
  /** An administrator: admin-only routes refuse anyone else before reading the body [AP1]. */
  admin: boolean;
}

function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const index = part.indexOf('=');
    if (index <= 0) continue;
    const name = part.slice(0, index).trim();
    const value = part.slice(index + 1).trim();
    try {
      cookies.set(name, decodeURIComponent(value));
    } catch {
      // A malformed cookie is ignored rather than failing the request.
    }
  }
  return cookies;
}

function credentialsOf(headers: IncomingMessage['headers']): { token: string; via: 'cookie' | 'bearer' } | null {
  const authorization = headers.authorization;
  if (authorization) {
    const match = /^Bearer\s+([A-Za-z0-9_-]{16,128})$/i.exec(authorization);
    if (!match?.[1]) throw new ParleyError('UNAUTHENTICATED', 'malformed Authorization header: expected "Bearer <token>"');
    return { token: match[1], via: 'bearer' };
  }
  const cookie = parseCookies(headers.cookie).get(SESSION_COOKIE);
  if (cookie && /^[A-Za-z0-9_-]{16,128}$/.test(cookie)) return { token: cookie, via: 'cookie' };
  return null;
}

/** Whether a session (by its id, the token's hash) exists and has not expired: for the hub's resync. */
export function sessionReader(reader: Kysely<Database>, clock: Clock): (sessionId: string) => Promise<boolean> {
  return async (sessionId) => {
    const row = await reader.selectFrom('sessions').select('expires_at').where('token_hash', '=', sessionId).executeTakeFirst();
    return row !== undefined && row.expires_at > clock.now().toISOString();
  };
}

const sessionWithUser = new PreparedQuery((db, p: { tokenHash: string }) =>
  db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .select(['sessions.user_id', 'sessions.expires_at', 'users.kind', 'users.admin', 'users.username'])
    .where('sessions.token_hash', '=', p.tokenHash),
);
const sessionOnly = new PreparedQuery((db, p: { tokenHash: string }) =>
  db.selectFrom('sessions').select(['user_id', 'expires_at']).where('token_hash', '=', p.tokenHash),
);
const userOnly = new PreparedQuery((db, p: { id: string }) => db.selectFrom('users').select(['kind', 'admin', 'username']).where('id', '=', p.id));

/** A session and its account, read on every request: one join on PostgreSQL, two point lookups on SQLite (see onSqlite). */
async function sessionOf(reader: Kysely<Database>, tokenHash: string) {
  if (!onSqlite(reader)) return sessionWithUser.first(reader, { tokenHash });
  const session = await sessionOnly.first(reader, { tokenHash });
  const user = session && (await userOnly.first(reader, { id: session.user_id }));
  return user && { ...session, ...user };
}

/** The session behind a request's bearer token or cookie, or null when there is none. */
export async function authenticateHeaders(context: ServerContext, headers: IncomingMessage['headers']): Promise<Auth | null> {
  const credentials = credentialsOf(headers);
  if (!credentials) return null;
  const tokenHash = sha256(credentials.token);
  const session = await sessionOf(context.storage.reader, tokenHash);
  if (!session || session.expires_at <= context.clock.now().toISOString()) {
    if (credentials.via === 'bearer') throw new ParleyError('UNAUTHENTICATED', 'the token is invalid or expired');
    return null;
  }
  return { userId: session.user_id, sessionId: tokenHash, via: credentials.via, kind: session.kind, admin: isAdmin(context.config, session) };
}

export function authenticate(context: ServerContext, request: FastifyRequest): Promise<Auth | null> {
  return authenticateHeaders(context, request.headers);
}

/** Whether a browser Origin may talk to this server: its own origin, or one configured. */
export function originAllowed(context: ServerContext, headers: IncomingMessage['headers']): boolean {
  const origin = headers.origin;
  if (origin === undefined) return true;
  if (context.config.allowedOrigins.includes(origin)) return true;
  const host = headers.host;
  if (!host) return false;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

export function checkOrigin(context: ServerContext, request: FastifyRequest): void {
  if (!originAllowed(context, request.headers)) {
    throw new ParleyError('ORIGIN_REFUSED', `requests from origin ${String(request.headers.origin)} are not allowed`);
  }
}

export async function createSession(
  context: ServerContext,
  userId: string,
  kind: 'cookie' | 'token',
): Promise<{ token: string; expiresAt: Date }> {
  const token = newSecret();
  const now = context.clock.now();
  const expiresAt = new Date(now.getTime() + context.config.sessionDays * 24 * 3600 * 1000);
  await context.log.write(async ({ db }) => {
    await db
      .insertInto('sessions')
      .values({ token_hash: sha256(token), user_id: userId, kind, created_at: now.toISOString(), expires_at: expiresAt.toISOString() })
      .execute();
  });
  return { token, expiresAt };
}

export function setSessionCookie(context: ServerContext, reply: FastifyReply, token: string, expiresAt: Date): void {
  const parts = [
    `${SESSION_COOKIE}=${token}`,
    'Path=/',
    'HttpOnly',
    'SameSite=Lax',
    `Expires=${expiresAt.toUTCString()}`,
  ];
  if (context.config.secureCookies) parts.push('Secure');
  reply.header('set-cookie', parts.join('; '));
}

export function clearSessionCookie(context: ServerContext, reply: FastifyReply): void {
  const parts = [`${SESSION_COOKIE}=`, 'Path=/', 'HttpOnly', 'SameSite=Lax', 'Max-Age=0'];
  if (context.config.secureCookies) parts.push('Secure');
  reply.header('set-cookie', parts.join('; '));
}

export async function endSession(context: ServerContext, auth: Auth): Promise<void> {
  await context.log.write(async ({ db, afterCommit }) => {
    await db.deleteFrom('sessions').where('token_hash', '=', auth.sessionId).execute();
    afterCommit(() => context.bus.publish({ kind: 'session-ended', userId: auth.userId, sessionId: auth.sessionId }));
  });
}
