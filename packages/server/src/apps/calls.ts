import { type AppCallProgress, type AppTool, ParleyError } from '@parley/protocol';
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { requireMember } from '../conversations/access.js';
import { bindRoute } from '../http/bind.js';
import { newId } from '../ids/ids.js';
import { type CallRow, findCall, parseObject, toAppCall } from './call-rows.js';
import { AuthorizationRequiredError } from '@parley/apps';
import { type AppRow, listingOf, requireEnabledApp, sourceOf } from './directory.js';
import type { AppTarget } from './host.js';
import { type CallStop, EXPIRED_AUTHORIZATION } from './runs.js';

/** Largest tool result kept (and handed to the model): past it the call fails [AP10]. */
export const MAX_RESULT_BYTES = 1024 * 1024;

/** The reason recorded on a call approved after its answer ended [AP11]. */
export const EXPIRED = 'expired: the answer that asked for this call ended before it was confirmed, so it did not run';


/**
 * How this node reaches an app for a member: an app that needs OAuth with the member's own
 * credentials (their own connection), any other with the app's shared connection [AP16].
 */
export function targetOf(context: ServerContext, row: AppRow, userId: string): AppTarget {
  const source = sourceOf(row);
  if (row.oauth !== 1 || source.transport !== 'http') return { id: row.id, source };
  return { id: row.id, source, member: { userId, authProvider: context.appOAuth.provider({ id: row.id, url: source.url }, userId) } };
}

function parseArguments(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ParleyError('INVALID_INPUT', 'body.arguments: must be JSON text', { field: 'body.arguments' });
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new ParleyError('INVALID_INPUT', 'body.arguments: must be a JSON object', { field: 'body.arguments' });
  }
  return value as Record<string, unknown>;
}

/** Longest progress message kept from an app. */
const MAX_PROGRESS_MESSAGE = 500;

/** Records one progress report of a running call as an `app-call-updated` event; nothing once the call ended [AP12]. */
function keptProgress(progress: AppCallProgress | null): AppCallProgress | null {
  if (!progress || !Number.isFinite(progress.progress) || (progress.total !== null && !Number.isFinite(progress.total))) return null;
  return { progress: progress.progress, total: progress.total, message: progress.message?.slice(0, MAX_PROGRESS_MESSAGE) ?? null };
}

async function recordProgress(context: ServerContext, call: CallRow, progress: AppCallProgress): Promise<void> {
  const kept = keptProgress(progress);
  if (!kept) return;
  await context.log.write(async (write) => {
    const updated = await write.db
      .updateTable('app_calls')
      .set({ progress: JSON.stringify(kept) })
      .where('id', '=', call.id)
      .where('status', '=', 'running')
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) !== 1) return;
    const row = await findCall(write.db, call.conversation_id, call.id);
    await write.append(call.conversation_id, { type: 'app-call-updated', actorId: call.requested_by, call: toAppCall(row) });
  });
}

function isCallStop(value: unknown): value is CallStop {
  return typeof value === 'object' && value !== null && typeof (value as { error?: unknown }).error === 'string';
}

/**
 * Runs a call that may run (read-only, or approved) and records its end: the result, its size
 * and the time it took, as an `app-call-updated` event [AP10]; on the way, the app's progress
 * [AP12]. The end of the answer that asked for it cancels it [AP13]. Never throws: a failure is
 * the call's `failed` status.
 */
async function runCall(context: ServerContext, call: CallRow, app: AppRow): Promise<CallRow> {
  const started = performance.now();
  const run = context.appRuns.begin(call.id, call.turn_id, (progress) => recordProgress(context, call, progress));
  let update: Partial<CallRow>;
  /** The asker's tokens stopped working (and would not refresh): the call waits for their authorisation again [AP18]. */
  let needsAuthorization = false;
  let actorId = call.requested_by;
  try {
    // The answer may have ended between the write that made the call running and now: the bus told no one here yet.
    if (call.turn_id !== null) {
      const turn = await context.storage.reader.selectFrom('assistant_turns').select('status').where('id', '=', call.turn_id).executeTakeFirst();
      if (turn && turn.status !== 'streaming') context.appRuns.cancelTurn(call.turn_id, turn.status);
    }
    run.signal.throwIfAborted();
    const result = await context.apps.call(targetOf(context, app, call.asked_by), call.tool, parseObject(call.arguments) ?? {}, {
      signal: run.signal,
      onProgress: (progress) => run.progress(progress),
    });
    const text = JSON.stringify(result);
    const bytes = Buffer.byteLength(text);
    update =
      bytes > MAX_RESULT_BYTES
        ? { status: 'failed', error: `the result was larger than ${MAX_RESULT_BYTES} bytes`, result_bytes: bytes }
        : { status: 'completed', result: text, result_bytes: bytes, is_error: result.isError === true ? 1 : 0 };
  } catch (error) {
    const stop: unknown = run.signal.aborted ? run.signal.reason : undefined;
    if (error instanceof AuthorizationRequiredError && !isCallStop(stop)) {
      needsAuthorization = true;
      update = { status: 'authorization', node_id: null, lease_until: null };
    } else if (isCallStop(stop)) {
      update = { status: 'failed', error: stop.error };
      if (stop.turnId) {
        // The member who stopped the answer is who ended the call.
        const turn = await context.storage.reader.selectFrom('assistant_turns').select('ended_by').where('id', '=', stop.turnId).executeTakeFirst();
        actorId = turn?.ended_by ?? actorId;
      }
    } else {
      update = { status: 'failed', error: (error instanceof Error ? error.message : String(error)).slice(0, 2000) };
    }
  } finally {
    run.end();
  }
  await run.settle();
  const latest = keptProgress(run.latest());
  if (latest) update.progress = JSON.stringify(latest);
  const durationMs = Math.round(performance.now() - started);
  return context.log.write(async (write) => {
    const ended = await write.db
      .updateTable('app_calls')
      .set(needsAuthorization ? update : { ...update, duration_ms: durationMs, ended_at: write.now })
      .where('id', '=', call.id)
      .where('status', '=', 'running')
      .executeTakeFirst();
    const row = await findCall(write.db, call.conversation_id, call.id);
    // Already ended (another node found its lease run out): that end stands [AP15].
    if (Number(ended.numUpdatedRows) !== 1) return row;
    await write.append(call.conversation_id, { type: 'app-call-updated', actorId, call: toAppCall(row) });
    return row;
  });
}

/** Tool calls of enabled apps, with confirmation by the member who asked. Rules [AP7]–[AP10] in SPEC.md. */
export function registerAppCallRoutes(app: FastifyInstance, context: ServerContext): void {
  bindRoute(app, context, 'callAppTool', async ({ auth, params, body }) => {
    const db = context.storage.reader;
    await requireMember(db, params.conversationId, auth.userId);
    const existing = await db
      .selectFrom('app_calls')
      .selectAll()
      .where('conversation_id', '=', params.conversationId)
      .where('requested_by', '=', auth.userId)
      .where('client_id', '=', body.id)
      .executeTakeFirst();
    if (existing) return toAppCall(existing);

    const appRow = await requireEnabledApp(db, params.conversationId, params.appId);
    const tool: AppTool | undefined = listingOf(appRow)?.tools.find((item) => item.name === body.tool);
    if (!tool) throw new ParleyError('INVALID_INPUT', `body.tool: ${appRow.name} has no tool "${body.tool}"`, { field: 'body.tool' });
    // The assistant sees and calls only tools meant for the model; a member (a widget) only tools meant for the app [AP8].
    const visibility = auth.kind === 'bot' ? 'model' : 'app';
    if (!tool.visibility.includes(visibility)) {
      throw new ParleyError('FORBIDDEN', `${body.tool} is not offered to ${auth.kind === 'bot' ? 'the assistant' : "the app's widget"}`, { field: 'body.tool' });
    }
    const args = parseArguments(body.arguments);

    let askedBy = auth.userId;
    if (auth.kind === 'bot') {
      if (!body.turnId) throw new ParleyError('INVALID_INPUT', 'body.turnId: the assistant calls a tool within a turn', { field: 'body.turnId' });
      const turn = await db
        .selectFrom('assistant_turns')
        .select(['charged_user_id', 'bot_id', 'status'])
        .where('id', '=', body.turnId)
        .where('conversation_id', '=', params.conversationId)
        .executeTakeFirst();
      if (!turn || turn.bot_id !== auth.userId) throw new ParleyError('NOT_FOUND', 'no such turn', { field: 'body.turnId' });
      if (turn.status !== 'streaming') throw new ParleyError('CONFLICT', `the turn is ${turn.status}: tools are called within a turn in flight`, { field: 'body.turnId' });
      // The member whose message started the turn is the one who confirms [AP9].
      if (!turn.charged_user_id) throw new ParleyError('INVALID_INPUT', 'body.turnId: this turn has no member who asked', { field: 'body.turnId' });
      askedBy = turn.charged_user_id;
    }

    const readOnly = tool.annotations.readOnlyHint === true;
    const granted = readOnly
      ? undefined
      : await db
          .selectFrom('app_call_grants')
          .select('user_id')
          .where('conversation_id', '=', params.conversationId)
          .where('app_id', '=', appRow.id)
          .where('tool', '=', tool.name)
          .where('user_id', '=', askedBy)
          .executeTakeFirst();
    const runsNow = readOnly || granted !== undefined;
    // Reach the app before recording anything: connecting lists it, and a changed tool list puts
    // it back in review instead of making a call or a confirmation card [AP4]. An app that needs
    // OAuth is reached with the asker's credentials; without them the call waits for the asker
    // to authorise the app [AP18].
    let needsAuthorization = false;
    try {
      await context.apps.ensure(targetOf(context, appRow, askedBy));
    } catch (error) {
      if (!(error instanceof AuthorizationRequiredError)) throw error;
      needsAuthorization = true;
    }
    const runs = runsNow && !needsAuthorization;
    const call = await context.log.write(async (write) => {
      await write.lock(params.conversationId);
      await requireMember(write.db, params.conversationId, auth.userId);
      const again = await write.db
        .selectFrom('app_calls')
        .selectAll()
        .where('conversation_id', '=', params.conversationId)
        .where('requested_by', '=', auth.userId)
        .where('client_id', '=', body.id)
        .executeTakeFirst();
      if (again) return { row: again, created: false };
      const last = await write.db
        .selectFrom('app_calls')
        .select((eb) => eb.fn.max('ordinal').as('ordinal'))
        .where('conversation_id', '=', params.conversationId)
        .executeTakeFirst();
      const row: CallRow = {
        id: newId(),
        client_id: body.id,
        conversation_id: params.conversationId,
        app_id: appRow.id,
        app_name: appRow.name,
        tool: tool.name,
        arguments: JSON.stringify(args),
        status: runs ? 'running' : runsNow ? 'authorization' : 'pending',
        asked_by: askedBy,
        requested_by: auth.userId,
        turn_id: body.turnId ?? null,
        read_only: readOnly ? 1 : 0,
        approval: readOnly ? 'read-only' : granted ? 'conversation' : null,
        decided_by: granted ? askedBy : null,
        decided_at: granted ? write.now : null,
        result: null,
        is_error: 0,
        result_bytes: null,
        error: null,
        duration_ms: null,
        created_at: write.now,
        ended_at: null,
        ordinal: Number(last?.ordinal ?? 0) + 1,
        // This node runs it now, or whichever node takes the approval [AP15].
        node_id: runs ? context.appRuns.nodeId : null,
        lease_until: runs ? context.appRuns.leaseUntil(write.now) : null,
        progress: null,
      };
      await write.db.insertInto('app_calls').values(row).execute();
      await write.append(params.conversationId, { type: 'app-call-created', actorId: auth.userId, call: toAppCall(row) });
      return { row, created: true };
    });
    if (!call.created || !runs) return toAppCall(call.row);
    return toAppCall(await runCall(context, call.row, appRow));
  });

  bindRoute(app, context, 'listAppCalls', async ({ auth, params }) => {
    const db = context.storage.reader;
    await requireMember(db, params.conversationId, auth.userId);
    const rows = await db.selectFrom('app_calls').selectAll().where('conversation_id', '=', params.conversationId).orderBy('ordinal').execute();
    return { calls: rows.map(toAppCall) };
  });

  bindRoute(app, context, 'getAppCall', async ({ auth, params }) => {
    const db = context.storage.reader;
    await requireMember(db, params.conversationId, auth.userId);
    return toAppCall(await findCall(db, params.conversationId, params.callId));
  });

  bindRoute(app, context, 'decideAppCall', async ({ auth, params, body }) => {
    const decided = await context.log.write(async (write) => {
      await write.lock(params.conversationId);
      await requireMember(write.db, params.conversationId, auth.userId);
      const call = await findCall(write.db, params.conversationId, params.callId);
      // Only the member who asked confirms; anyone else, another member or the assistant, is refused [AP9].
      if (call.asked_by !== auth.userId) throw new ParleyError('FORBIDDEN', 'only the member who asked may confirm or deny this call', { field: 'params.callId' });
      if (call.status !== 'pending') throw new ParleyError('CONFLICT', `this call is already ${call.status}`, { field: 'params.callId' });
      let appRow: AppRow | undefined;
      if (body.decision !== 'deny') {
        appRow = await requireEnabledApp(write.db, params.conversationId, call.app_id);
        // The answer that asked for it must still be waiting for it: approving a call of a
        // stopped or ended answer would run a tool nobody waits for [AP9].
        if (call.turn_id !== null) {
          const turn = await write.db.selectFrom('assistant_turns').select('status').where('id', '=', call.turn_id).executeTakeFirst();
          if (turn?.status !== 'streaming') {
            // A confirmation after the answer ended (stopped, timed out): the call expires, recorded
            // for the group, and the assistant is not resumed into a dead turn [AP11].
            await write.db
              .updateTable('app_calls')
              .set({ status: 'failed', error: EXPIRED, decided_by: auth.userId, decided_at: write.now, ended_at: write.now })
              .where('id', '=', call.id)
              .execute();
            const expired = await findCall(write.db, params.conversationId, call.id);
            await write.append(params.conversationId, { type: 'app-call-updated', actorId: auth.userId, call: toAppCall(expired) });
            return { row: expired, appRow: undefined, expired: true };
          }
        }
      }
      const approval = body.decision === 'approve-conversation' ? ('conversation' as const) : ('once' as const);
      await write.db
        .updateTable('app_calls')
        .set(
          body.decision === 'deny'
            ? { status: 'denied', decided_by: auth.userId, decided_at: write.now, ended_at: write.now }
            : {
                status: 'running',
                approval,
                decided_by: auth.userId,
                decided_at: write.now,
                node_id: context.appRuns.nodeId,
                lease_until: context.appRuns.leaseUntil(write.now),
              },
        )
        .where('id', '=', call.id)
        .execute();
      if (body.decision === 'approve-conversation') {
        await write.db
          .insertInto('app_call_grants')
          .values({ conversation_id: call.conversation_id, app_id: call.app_id, tool: call.tool, user_id: auth.userId, granted_at: write.now })
          .onConflict((conflict) => conflict.doNothing())
          .execute();
      }
      const row = await findCall(write.db, params.conversationId, call.id);
      await write.append(params.conversationId, { type: 'app-call-updated', actorId: auth.userId, call: toAppCall(row) });
      return { row, appRow, expired: false };
    });
    if (decided.expired) {
      throw new ParleyError('CONFLICT', 'the answer that asked for this call ended before your confirmation: the call expired and did not run', {
        field: 'params.callId',
        details: { callId: decided.row.id, status: decided.row.status },
      });
    }
    if (!decided.appRow) return toAppCall(decided.row);
    return toAppCall(await runCall(context, decided.row, decided.appRow));
  });
}

/**
 * The member authorised the app: their calls of it waiting for that run now, one after the
 * other, in the background [AP18]. A call whose answer ended meanwhile expires as a late
 * confirmation does ([AP11]); one whose app was switched off or went back to review fails.
 */
export function resumeAuthorizedCalls(context: ServerContext, appId: string, userId: string): void {
  void (async () => {
    const waiting = await context.storage.reader
      .selectFrom('app_calls')
      .select(['id', 'conversation_id'])
      .where('app_id', '=', appId)
      .where('asked_by', '=', userId)
      .where('status', '=', 'authorization')
      .orderBy('created_at')
      .execute();
    for (const { id, conversation_id: conversationId } of waiting) {
      const started = await context.log.write(async (write) => {
        await write.lock(conversationId);
        const call = await findCall(write.db, conversationId, id);
        if (call.status !== 'authorization') return undefined;
        let failure: string | undefined;
        let appRow: AppRow | undefined;
        try {
          appRow = await requireEnabledApp(write.db, conversationId, appId);
        } catch (error) {
          failure = error instanceof Error ? error.message : String(error);
        }
        if (!failure && call.turn_id !== null) {
          const turn = await write.db.selectFrom('assistant_turns').select('status').where('id', '=', call.turn_id).executeTakeFirst();
          if (turn?.status !== 'streaming') failure = EXPIRED_AUTHORIZATION;
        }
        await write.db
          .updateTable('app_calls')
          .set(
            failure !== undefined
              ? { status: 'failed', error: failure, ended_at: write.now }
              : { status: 'running', node_id: context.appRuns.nodeId, lease_until: context.appRuns.leaseUntil(write.now) },
          )
          .where('id', '=', id)
          .execute();
        const row = await findCall(write.db, conversationId, id);
        await write.append(conversationId, { type: 'app-call-updated', actorId: userId, call: toAppCall(row) });
        return failure === undefined && appRow ? { row, appRow } : undefined;
      });
      if (started) await runCall(context, started.row, started.appRow);
    }
  })().catch((error: unknown) => context.logger.error({ err: error, appId }, 'could not run the calls waiting for an authorisation'));
}
