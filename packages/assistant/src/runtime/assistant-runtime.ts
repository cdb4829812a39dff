import { type ConversationEvent, isParleyError } from '@parley/protocol';
import { EventStream, type EventStreamOptions, ParleyClient } from '@parley/sdk';
import { nodeFetch } from '@parley/sdk/node';
import type { LoadModelsResult } from '../providers/models.js';
import { ConversationWorker, type WorkerEnvironment } from './conversation-worker.js';

export interface AssistantRuntimeOptions {
  /** The Parley server, such as http://127.0.0.1:3000. */
  baseUrl: string;
  /** The assistant account's bearer token. */
  token: string;
  models: LoadModelsResult;
  /** Tokens a turn's prompt may take. */
  budget?: number;
  now?: () => number;
  log?: WorkerEnvironment['log'];
  socketFactory?: EventStreamOptions['socketFactory'];
}

export const DEFAULT_PROMPT_BUDGET = 8000;

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

  constructor(options: AssistantRuntimeOptions) {
    this.#options = options;
    // Many small calls (a decision for every message): over undici rather than the global fetch.
    this.#client = new ParleyClient({ baseUrl: options.baseUrl, token: options.token, fetch: nodeFetch() });
  }

  get client(): ParleyClient {
    return this.#client;
  }

  /** Signs in with the token, opens the event stream and waits until it has caught up. */
  async start(): Promise<void> {
    const me = await this.#client.api.getMe();
    if (me.kind !== 'bot') throw new Error(`the assistant token belongs to @${me.username}, which is not a bot account`);
    const log = this.#options.log ?? ((level, message, detail) => console[level](`[assistant] ${message}`, detail ?? ''));
    const stream = new EventStream(
      this.#client,
      {
        event: (event) => this.#onEvent(event),
        turn: (event) => {
          if (event.type === 'assistant-turn-end') this.#workers.get(event.conversationId)?.onTurnEnded(event.turnId);
        },
        error: (error) => {
          if (isParleyError(error) && error.code === 'NOT_FOUND') return;
          // Text frames still in flight when the turn's end (over HTTP, with the whole text)
          // landed first: refused as the turn is over, and nothing is lost.
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
  }

  /** Waits until every conversation has handled what it received (tests, shutdown). */
  async idle(): Promise<void> {
    await Promise.all([...this.#workers.values()].map((worker) => worker.idle()));
  }

  async close(): Promise<void> {
    for (const worker of this.#workers.values()) worker.close();
    await Promise.allSettled([...this.#workers.values()].map((worker) => worker.idle()));
    this.#stream?.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #onEvent(event: ConversationEvent): void {
    if (!this.#env) return;
    let worker = this.#workers.get(event.conversationId);
    if ((event.type === 'member-removed' || event.type === 'member-left') && event.userId === this.#env.assistantUserId) {
      worker?.close();
      this.#workers.delete(event.conversationId);
      return;
    }
    if (!worker) {
      worker = new ConversationWorker(event.conversationId, this.#env);
      this.#workers.set(event.conversationId, worker);
    }
    worker.onEvent(event);
  }
}
