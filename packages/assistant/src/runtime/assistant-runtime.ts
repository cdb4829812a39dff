import { type ConversationEvent, isParleyError } from '@parley/protocol';
import { setTimeout as sleep } from 'node:timers/promises';
import { EventStream, type EventStreamOptions, type FetchLike, ParleyClient } from '@parley/sdk';
import { nodeFetch } from '@parley/sdk/node';
import type { LoadModelsResult } from '../providers/models.js';
import { ConversationWorker, type WorkerEnvironment } from './conversation-worker.js';
import { type Logger, logTo } from './logger.js';
import { RequestLimiter } from './request-limiter.js';

export interface AssistantRuntimeOptions {
  /** The Parley server, such as http://127.0.0.1:3000. */
  baseUrl: string;
  /** The assistant account's bearer token. */
  token: string;
  models: LoadModelsResult;
  /** Tokens a turn's prompt may take. */
  budget?: number;
  now?: () => number;
  /** Where it reports what went wrong (the process's pino logger fits). */
  logger: Logger;
  socketFactory?: EventStreamOptions['socketFactory'];
  /** How old a message addressed to it while it was away may be and still be answered [RC2]. */
  catchUpMinutes?: number;
  /** How many of the catch-up's requests may be in flight at once, across all conversations [RC8]. */
  catchUpConcurrency?: number;
  /** How its requests are made: `nodeFetch` unless given (tests wrap it to watch them). */
  fetch?: FetchLike;
}

export const DEFAULT_PROMPT_BUDGET = 8000;
/** `PARLEY_ASSISTANT_CATCH_UP_MINUTES` by default [RC2]. */
export const DEFAULT_CATCH_UP_MINUTES = 5;
/** How far back the backlog is read: older than the window but this recent gets a recorded silent decision [RC3]. */
export const CATCH_UP_LOOKBACK_MS = 24 * 60 * 60_000;
/** The catch-up's requests in flight at once, across all conversations [RC8]. */
export const DEFAULT_CATCH_UP_CONCURRENCY = 3;
/** Messages read per backlog page: the most the runtime holds at once [RC7]. */
const BACKLOG_PAGE = 100;
/** Tries at reading the backlog, the n-th after n × CATCH_UP_RETRY_MS. */
const CATCH_UP_ATTEMPTS = 5;
const CATCH_UP_RETRY_MS = 1000;

/** `PARLEY_ASSISTANT_CATCH_UP_MINUTES`: a number of minutes, 0 or more (0 answers nothing late) [RC2]. */
export function catchUpMinutesOf(env: Record<string, string | undefined>): number {
  const raw = env.PARLEY_ASSISTANT_CATCH_UP_MINUTES;
  if (raw === undefined || raw.trim() === '') return DEFAULT_CATCH_UP_MINUTES;
  const minutes = Number(raw);
  if (!Number.isFinite(minutes) || minutes < 0) throw new Error(`PARLEY_ASSISTANT_CATCH_UP_MINUTES must be a number of minutes, 0 or more (got "${raw}")`);
  return minutes;
}

/**
 * The assistant as a member of every conversation it sits in. A client like any bot: it reads the
 * event stream and acts through the public API, in the server's process or in its own.
 */
export class AssistantRuntime {
  readonly #options: AssistantRuntimeOptions;
  readonly #client: ParleyClient;
  readonly #workers = new Map<string, ConversationWorker>();
  #stream: EventStream | undefined;
  #env: WorkerEnvironment | undefined;
  readonly #catchUpLimiter: RequestLimiter;
  /** The catch-up going on behind the live events, once started [RC7]. */
  #catchingUp: Promise<void> = Promise.resolve();
  readonly #closing = new AbortController();
  #closed = false;

  constructor(options: AssistantRuntimeOptions) {
    this.#options = options;
    this.#catchUpLimiter = new RequestLimiter(options.catchUpConcurrency ?? DEFAULT_CATCH_UP_CONCURRENCY);
    // Many small calls (a decision for every message): over undici rather than the global fetch.
    this.#client = new ParleyClient({ baseUrl: options.baseUrl, token: options.token, fetch: options.fetch ?? nodeFetch() });
  }

  get client(): ParleyClient {
    return this.#client;
  }

  /**
   * Signs in with the token, opens the event stream and waits until it is synced; the catch-up on
   * what was said while it was away goes on behind (`idle()` waits for it) [RC7].
   */
  async start(): Promise<void> {
    const me = await this.#client.api.getMe();
    if (me.kind !== 'bot') throw new Error(`the assistant token belongs to @${me.username}, which is not a bot account`);
    const log = logTo(this.#options.logger);
    const stream = new EventStream(
      this.#client,
      {
        event: (event) => this.#onEvent(event),
        turn: (event) => {
          if (event.type === 'assistant-turn-end') this.#workers.get(event.conversationId)?.onTurnEnded(event.turnId);
        },
        error: (error) => {
          if (isParleyError(error) && error.code === 'NOT_FOUND') return;
          // Text frames still in flight when a member stopped the turn (or the watchdog ended
          // it): refused as the turn is over; the stop's own event tells the worker.
          const details = isParleyError(error) ? (error.details as { turnId?: unknown } | undefined) : undefined;
          if (isParleyError(error) && error.code === 'CONFLICT' && typeof details?.turnId === 'string') return;
          log('warn', 'event stream', error.message);
        },
      },
      this.#options.socketFactory ? { socketFactory: this.#options.socketFactory } : {},
    );
    this.#stream = stream;
    this.#env = {
      client: this.#client,
      stream,
      assistantUserId: me.id,
      models: this.#options.models,
      now: this.#options.now ?? Date.now,
      budget: this.#options.budget ?? DEFAULT_PROMPT_BUDGET,
      log,
    };
    await stream.synced();
    this.#catchingUp = this.#catchUpOrRetry(log);
  }

  /** A failed read of the backlog is tried again, a few times: it never stops the start. */
  async #catchUpOrRetry(log: WorkerEnvironment['log']): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.#catchUp();
        return;
      } catch (error) {
        if (this.#closed || attempt >= CATCH_UP_ATTEMPTS) {
          log('warn', 'could not read what was said while it was away', error);
          return;
        }
        const waited = await sleep(CATCH_UP_RETRY_MS * attempt, true, { ref: false, signal: this.#closing.signal }).catch(() => false);
        if (!waited) return;
      }
    }
  }

  /**
   * Reads what people said while it was away [RC1], once live events flow: a message sent from
   * now on comes live, one sent before is in the backlog (unless it was decided on), and one that
   * is both is taken once [RC4]. A page is read once the one before is handled [RC7]; the answers
   * it starts run on their workers, and this does not wait for them to end.
   */
  async #catchUp(): Promise<void> {
    const env = this.#env;
    if (!env) return;
    const windowMs = (this.#options.catchUpMinutes ?? DEFAULT_CATCH_UP_MINUTES) * 60_000;
    let query: { since: string; afterId?: string } = { since: new Date(env.now() - Math.max(windowMs, CATCH_UP_LOOKBACK_MS)).toISOString() };
    for (;;) {
      if (this.#closed) return;
      const page = await this.#client.api.listAssistantBacklog({ query: { ...query, limit: BACKLOG_PAGE } });
      // Closed while the page was read: no new worker is made for it.
      if (this.#closed) return;
      await Promise.all(
        page.entries.map(({ message, replyToAuthorId }) =>
          this.#worker(message.conversationId, env).catchUp(message, replyToAuthorId, { windowMs, limiter: this.#catchUpLimiter }),
        ),
      );
      if (!page.next) return;
      query = page.next;
    }
  }

  #worker(conversationId: string, env: WorkerEnvironment): ConversationWorker {
    let worker = this.#workers.get(conversationId);
    if (!worker) {
      worker = new ConversationWorker(conversationId, env);
      this.#workers.set(conversationId, worker);
    }
    return worker;
  }

  /** Waits until the catch-up is over and every conversation has handled what it received (tests, shutdown). */
  async idle(): Promise<void> {
    await this.#catchingUp;
    await Promise.all([...this.#workers.values()].map((worker) => worker.idle()));
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#closing.abort();
    for (const worker of this.#workers.values()) worker.close();
    await Promise.allSettled([this.#catchingUp, ...[...this.#workers.values()].map((worker) => worker.idle())]);
    this.#stream?.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #onEvent(event: ConversationEvent): void {
    if (!this.#env) return;
    if ((event.type === 'member-removed' || event.type === 'member-left') && event.userId === this.#env.assistantUserId) {
      this.#workers.get(event.conversationId)?.close();
      this.#workers.delete(event.conversationId);
      return;
    }
    this.#worker(event.conversationId, this.#env).onEvent(event);
  }
}
