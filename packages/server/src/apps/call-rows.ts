import { type AppCall, type AppCallProgress, ParleyError } from '@parley/protocol';
import type { Kysely, Selectable } from 'kysely';
import type { AppCallsTable, Database } from '../storage/schema.js';

// A tool call's row and its wire form, shared by the routes (calls.ts) and the runs (runs.ts).

export type CallRow = Selectable<AppCallsTable>;

export function parseObject(text: string | null): Record<string, unknown> | null {
  if (text === null) return null;
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

export function toAppCall(row: CallRow): AppCall {
  return {
    id: row.id,
    conversationId: row.conversation_id,
    appId: row.app_id,
    appName: row.app_name,
    tool: row.tool,
    arguments: parseObject(row.arguments) ?? {},
    status: row.status,
    askedBy: row.asked_by,
    requestedBy: row.requested_by,
    turnId: row.turn_id,
    readOnly: row.read_only === 1,
    approval: row.approval,
    decidedBy: row.decided_by,
    decidedAt: row.decided_at,
    result: parseObject(row.result),
    isError: row.is_error === 1,
    resultBytes: row.result_bytes,
    error: row.error,
    progress: parseProgress(row.progress),
    durationMs: row.duration_ms,
    createdAt: row.created_at,
    endedAt: row.ended_at,
  };
}

export async function findCall(db: Kysely<Database>, conversationId: string, callId: string): Promise<CallRow> {
  const row = await db.selectFrom('app_calls').selectAll().where('id', '=', callId).where('conversation_id', '=', conversationId).executeTakeFirst();
  if (!row) throw new ParleyError('NOT_FOUND', 'no such call', { field: 'params.callId' });
  return row;
}

function parseProgress(text: string | null): AppCallProgress | null {
  const value = parseObject(text);
  if (!value || typeof value.progress !== 'number') return null;
  return {
    progress: value.progress,
    total: typeof value.total === 'number' ? value.total : null,
    message: typeof value.message === 'string' ? value.message : null,
  };
}
