import type { AppCallProgress } from '@parley/protocol';
import type { Kysely } from 'kysely';
import type { Clock, EventLog } from '../events/event-log.js';
import type { Logger } from '../logger.js';
import type { Bus } from '../realtime/bus.js';
import type { Database } from '../storage/schema.js';
import { findCall, toAppCall } from './call-rows.js';

/** Why a running call was stopped before the app answered: recorded as its `error` ([AP13], [AP15]). */
export interface CallStop {
  error: string;
  /** The turn whose end stopped it: the member who ended that turn is the event's actor. */
  turnId?: string;
}

/** The reason recorded on a call whose node stopped while it ran, found when that node starts again [AP15]. */
export const INTERRUPTED_AT_START = 'interrupted: the server stopped while this call ran; whether the app finished it is not known';
/** The reason recorded on a call whose node shut down while it ran: the app was told to cancel it [AP15]. */
export const INTERRUPTED_AT_SHUTDOWN = 'interrupted: the server shut down while this call ran; the app was told to cancel it';
/** The reason recorded on a call whose lease ran out: the node running it stopped answering [AP15]. */
export const LEASE_EXPIRED = 'interrupted: the node running this call stopped before it ended; whether the app finished it is not known';

/** The reason recorded on a call cancelled because the answer that asked for it ended [AP13]. */
export function cancelledReason(status: string): string {
  return status === 'stopped'
    ? 'cancelled: the answer was stopped before the tool finished; the app was told to cancel it'
    : `cancelled: the answer ended (${status}) before the tool finished; the app was told to cancel it`;
}

/** The reason recorded on a call whose answer ended before the asker authorised the app [AP18]. */
export const EXPIRED_AUTHORIZATION = 'expired: the answer that asked for this call ended before the app was authorised, so it did not run';

/** Most `app-call-updated` events one call's progress writes [AP12]. */
export const MAX_PROGRESS_EVENTS = 100;
/** A node that dies is noticed this long after its calls' own timeout would have ended them [AP15]. */
export const LEASE_GRACE_MS = 15_000;

export interface AppCallRunsOptions {
  log: EventLog;
  reader: Kysely<Database>;
  bus: Bus;
  clock: Clock;
  logger: Logger;
  /** This node's name: each running call records it, and a restart fails only its own [AP15]. */
  nodeId: string;
  /** SQLite: this node is the only one, so every call left running is its own. */
  soleNode: boolean;
  /** The longest a tool call runs (the app timeout): with the grace, a call's lease. */
  timeoutMs: number;
  /** At most one progress event per call this often [AP12]. */
  progressIntervalMs: number;
  leaseGraceMs?: number;
  /** How often leases are checked; by default a minute, or the timeout when shorter. */
  sweepIntervalMs?: number;
  /** The apps' other periodic work, run on each sweep after the leases: expired authorisations [AP25]. */
  housekeeping?: () => Promise<unknown>;
}

/** One call running on this node. */
export interface RunHandle {
  readonly signal: AbortSignal;
  /** Hands the app's progress to the throttled writer. */
  progress(progress: AppCallProgress): void;
  /** Stops the progress writer and waits for a write in flight, so the end is the call's last event. */
  settle(): Promise<void>;
  /** The newest progress the app reported (written or not): the ended call keeps it. */
  latest(): AppCallProgress | null;
  end(): void;
}

/**
 * The tool calls running on this node: their cancellation (the answer that asked ended, the node
 * shuts down), their throttled progress, and recovery of calls whose node stopped. Rules [AP12],
 * [AP13], [AP15] in SPEC.md.
 */
export class AppCallRuns {
  readonly #options: AppCallRunsOptions;
  readonly #running = new Map<string, { controller: AbortController; turnId: string | null }>();
  readonly #unsubscribe: () => void;
  readonly #sweeper: NodeJS.Timeout;
  #sweeping: Promise<number> | undefined;
  #closed = false;

  constructor(options: AppCallRunsOptions) {
    this.#options = options;
    // A turn that ends, on this node or another (a member's Stop, the watchdog, the bot), cancels the calls it made here [AP13].
    this.#unsubscribe = options.bus.subscribe((message) => {
      if (message.kind !== 'assistant' || message.event.type !== 'assistant-turn-end') return;
      this.cancelTurn(message.event.turnId, message.event.status);
      void this.#expireWaiting(message.event.turnId);
    });
    const every = options.sweepIntervalMs ?? Math.max(1000, Math.min(60_000, options.timeoutMs));
    this.#sweeper = setInterval(() => void this.sweep(), every);
    this.#sweeper.unref();
  }

  get nodeId(): string {
    return this.#options.nodeId;
  }

  /** When a call starting to run at `now` has surely ended on a live node [AP15]. */
  leaseUntil(now: string): string {
    return new Date(Date.parse(now) + this.#options.timeoutMs + (this.#options.leaseGraceMs ?? LEASE_GRACE_MS)).toISOString();
  }

  /** Registers a call about to run; `write` records one progress report (it skips a call that ended). */
  begin(callId: string, turnId: string | null, write: (progress: AppCallProgress) => Promise<void>): RunHandle {
    const controller = new AbortController();
    if (this.#closed) controller.abort({ error: INTERRUPTED_AT_SHUTDOWN } satisfies CallStop);
    this.#running.set(callId, { controller, turnId });
    const trail = new ProgressTrail(write, this.#options.progressIntervalMs, MAX_PROGRESS_EVENTS, this.#options.logger);
    return {
      signal: controller.signal,
      progress: (progress) => trail.report(progress),
      settle: () => trail.settle(),
      latest: () => trail.latest,
      end: () => {
        if (this.#running.get(callId)?.controller === controller) this.#running.delete(callId);
      },
    };
  }

  /** Cancels this node's running calls of a turn that ended [AP13]. */
  cancelTurn(turnId: string, status: string): void {
    for (const { controller, turnId: callTurn } of this.#running.values()) {
      if (callTurn === turnId && !controller.signal.aborted) controller.abort({ error: cancelledReason(status), turnId } satisfies CallStop);
    }
  }

  /**
   * The turn ended: its calls still waiting for their asker's authorisation will never be waited
   * for, so they fail `expired:` now, as `app-call-updated` events [AP18]. Every node hears the
   * turn's end; the first to write ends each call, the others find it ended.
   */
  async #expireWaiting(turnId: string): Promise<void> {
    if (this.#closed) return;
    try {
      const rows = await this.#options.reader
        .selectFrom('app_calls')
        .select(['id', 'conversation_id'])
        .where('turn_id', '=', turnId)
        .where('status', '=', 'authorization')
        .execute();
      for (const row of rows) {
        await this.#options.log.write(async (write) => {
          await write.lock(row.conversation_id);
          const call = await findCall(write.db, row.conversation_id, row.id);
          if (call.status !== 'authorization') return;
          await write.db.updateTable('app_calls').set({ status: 'failed', error: EXPIRED_AUTHORIZATION, ended_at: write.now }).where('id', '=', row.id).execute();
          const turn = await write.db.selectFrom('assistant_turns').select('ended_by').where('id', '=', turnId).executeTakeFirst();
          const updated = await findCall(write.db, row.conversation_id, row.id);
          await write.append(row.conversation_id, { type: 'app-call-updated', actorId: turn?.ended_by ?? call.asked_by, call: toAppCall(updated) });
        });
      }
    } catch (error) {
      if (!this.#closed) this.#options.logger.error({ err: error, turnId }, 'could not expire the calls waiting for an authorisation');
    }
  }

  /**
   * At startup: this node's calls left running when it stopped (killed, or cut off) fail as
   * interrupted, as `app-call-updated` events. Calls of other nodes go on; their lease decides.
   */
  async recover(): Promise<number> {
    const rows = await this.#options.reader
      .selectFrom('app_calls')
      .select(['id', 'conversation_id'])
      .where('status', '=', 'running')
      .$if(!this.#options.soleNode, (query) => query.where((eb) => eb.or([eb('node_id', '=', this.#options.nodeId), eb('node_id', 'is', null)])))
      .execute();
    let failed = 0;
    for (const row of rows) if (await this.#interrupt(row.conversation_id, row.id, INTERRUPTED_AT_START, () => true)) failed += 1;
    return failed;
  }

  /**
   * Fails calls still running past their lease, whichever node ran them: that node is gone
   * [AP15]; then runs the apps' other periodic work [AP25]. Resolves to the number of calls failed.
   */
  sweep(): Promise<number> {
    this.#sweeping ??= this.#sweep().finally(() => (this.#sweeping = undefined));
    return this.#sweeping;
  }

  async #sweep(): Promise<number> {
    if (this.#closed) return 0;
    const failed = await this.#sweepLeases();
    if (this.#closed || !this.#options.housekeeping) return failed;
    try {
      await this.#options.housekeeping();
    } catch (error) {
      if (!this.#closed) this.#options.logger.error({ err: error }, 'apps housekeeping');
    }
    return failed;
  }

  async #sweepLeases(): Promise<number> {
    try {
      const now = this.#options.clock.now().toISOString();
      const rows = await this.#options.reader
        .selectFrom('app_calls')
        .select(['id', 'conversation_id'])
        .where('status', '=', 'running')
        .where('lease_until', '<', now)
        .execute();
      let failed = 0;
      for (const row of rows) {
        if (this.#closed) break;
        // A call of this node that is still held here is not dead, whatever its lease says.
        if (this.#running.has(row.id)) continue;
        const expired = (lease: string | null) => lease !== null && lease < this.#options.clock.now().toISOString();
        if (await this.#interrupt(row.conversation_id, row.id, LEASE_EXPIRED, expired)) failed += 1;
      }
      return failed;
    } catch (error) {
      if (!this.#closed) this.#options.logger.error({ err: error }, 'app call lease sweep');
      return 0;
    }
  }

  async #interrupt(conversationId: string, callId: string, reason: string, still: (leaseUntil: string | null) => boolean): Promise<boolean> {
    return this.#options.log.write(async (write) => {
      await write.lock(conversationId);
      const row = await findCall(write.db, conversationId, callId);
      if (row.status !== 'running' || !still(row.lease_until)) return false;
      await write.db
        .updateTable('app_calls')
        .set({ status: 'failed', error: reason, ended_at: write.now })
        .where('id', '=', callId)
        .where('status', '=', 'running')
        .execute();
      const updated = await findCall(write.db, conversationId, callId);
      await write.append(conversationId, { type: 'app-call-updated', actorId: row.requested_by, call: toAppCall(updated) });
      return true;
    });
  }

  /** At shutdown, before requests are drained: every running call is cancelled and recorded as interrupted [AP15]. */
  stopAll(): void {
    this.#closed = true;
    for (const { controller } of this.#running.values()) {
      if (!controller.signal.aborted) controller.abort({ error: INTERRUPTED_AT_SHUTDOWN } satisfies CallStop);
    }
  }

  async close(): Promise<void> {
    this.stopAll();
    this.#unsubscribe();
    clearInterval(this.#sweeper);
    await this.#sweeping;
  }
}

/**
 * At most one progress write per `intervalMs` for one call, the newest report winning; at most
 * `max` writes in all. A chatty app cannot flood the conversation's log [AP12].
 */
class ProgressTrail {
  readonly #write: (progress: AppCallProgress) => Promise<void>;
  readonly #intervalMs: number;
  readonly #max: number;
  readonly #logger: Logger;
  #pending: AppCallProgress | undefined;
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<void> | undefined;
  #lastWriteAt = Number.NEGATIVE_INFINITY;
  #written = 0;
  #settled = false;

  constructor(write: (progress: AppCallProgress) => Promise<void>, intervalMs: number, max: number, logger: Logger) {
    this.#write = write;
    this.#intervalMs = intervalMs;
    this.#max = max;
    this.#logger = logger;
  }

  /** The newest report. */
  latest: AppCallProgress | null = null;

  report(progress: AppCallProgress): void {
    if (this.#settled) return;
    this.latest = progress;
    if (this.#written >= this.#max) return;
    this.#pending = progress;
    this.#schedule();
  }

  #schedule(): void {
    if (this.#timer || this.#inFlight || !this.#pending || this.#settled) return;
    const wait = this.#lastWriteAt + this.#intervalMs - performance.now();
    if (wait <= 0) this.#flush();
    else this.#timer = setTimeout(() => this.#flush(), wait);
  }

  #flush(): void {
    this.#timer = undefined;
    const progress = this.#pending;
    if (!progress || this.#settled) return;
    this.#pending = undefined;
    this.#written += 1;
    this.#lastWriteAt = performance.now();
    this.#inFlight = this.#write(progress)
      .catch((error: unknown) => this.#logger.error({ err: error }, 'could not record the progress of an app call'))
      .finally(() => {
        this.#inFlight = undefined;
        this.#schedule();
      });
  }

  async settle(): Promise<void> {
    this.#settled = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#inFlight;
  }
}
