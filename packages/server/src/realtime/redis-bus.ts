import crypto from 'node:crypto';
import type { Bus, BusMessage } from './bus.js';

export interface RedisBusOptions {
  /** `redis://host:port[/db]`, as in `REDIS_URL`. */
  url: string;
  /** The pub/sub channel every node of one installation shares. */
  channel?: string;
  /** This node's name on the bus; its own messages coming back from Redis are skipped. */
  nodeId?: string;
  /** How often an idle connection is checked (a network pause shows as a failed ping). */
  pingIntervalMs?: number;
  log?: (message: string) => void;
}

/** A bus message on the wire, with the node that sent it. */
interface Envelope {
  node: string;
  message: BusMessage;
}

/** Loads the Redis client with the first connection: a node without REDIS_URL never needs it, and a restarted node's clients wait on its start-up. */
async function makeClient(options: RedisBusOptions) {
  const { createClient } = await import('@redis/client');
  return createClient({
    url: options.url,
    // A message that cannot be sent now is dropped, not queued without bound: the log has it.
    disableOfflineQueue: true,
    pingInterval: options.pingIntervalMs ?? 5000,
    socket: { connectTimeout: 5000, reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 2000) },
  });
}

type Client = Awaited<ReturnType<typeof makeClient>>;

/**
 * The bus between nodes over Redis pub/sub (`REDIS_URL`). A message is delivered to this node's
 * own subscribers at once, in process and in publish order, as the MemoryBus does, and published
 * to the others through Redis. Redis keeps nothing: the event log stays the source of truth
 * [MN2]. When the subscription comes back after a loss, or this node could not publish for a
 * while, subscribers are told to catch up from the log (`onResync`), so no member misses an event.
 */
export class RedisBus implements Bus {
  readonly #handlers = new Set<(message: BusMessage) => void>();
  readonly #resyncHandlers = new Set<() => void>();
  readonly #publisher: Client;
  readonly #subscriber: Client;
  readonly #channel: string;
  readonly #node: string;
  readonly #log: (message: string) => void;
  /** Set when a publish failed: once the publisher is back, every node is told to catch up. */
  #lost = false;
  #closed = false;

  private constructor(publisher: Client, subscriber: Client, channel: string, node: string, log: (message: string) => void) {
    this.#publisher = publisher;
    this.#subscriber = subscriber;
    this.#channel = channel;
    this.#node = node;
    this.#log = log;
  }

  /** Connects both clients (publishing and subscribed) and subscribes; rejects if Redis cannot be reached. */
  static async connect(options: RedisBusOptions): Promise<RedisBus> {
    const log = options.log ?? (() => undefined);
    const publisher = await makeClient(options);
    const subscriber = await makeClient(options);
    const bus = new RedisBus(publisher, subscriber, options.channel ?? 'parley:bus', options.nodeId ?? crypto.randomUUID(), log);
    let connected = false;
    for (const [name, client] of [
      ['publisher', publisher],
      ['subscriber', subscriber],
    ] as const) {
      // Without a listener an error event would throw; reconnecting is the client's own work.
      client.on('error', (error: unknown) => {
        if (connected && !bus.#closed) log(`redis bus ${name}: ${error instanceof Error ? error.message : String(error)}`);
      });
    }
    publisher.on('ready', () => {
      if (connected && bus.#lost) bus.#announceLoss();
    });
    subscriber.on('ready', () => {
      // Back after a loss: the client has subscribed again before `ready`; what went by meanwhile is in the log.
      if (connected) bus.#resync();
    });
    try {
      await Promise.all([publisher.connect(), subscriber.connect()]);
      await subscriber.subscribe(bus.#channel, (raw) => bus.#receive(raw));
    } catch (error) {
      await Promise.allSettled([publisher.destroy(), subscriber.destroy()]);
      throw error;
    }
    connected = true;
    return bus;
  }

  publish(message: BusMessage): void {
    for (const handler of this.#handlers) handler(message);
    if (this.#closed) return;
    const envelope: Envelope = { node: this.#node, message };
    this.#publisher.publish(this.#channel, JSON.stringify(envelope)).catch(() => {
      if (this.#closed) return;
      this.#lost = true;
    });
  }

  subscribe(handler: (message: BusMessage) => void): () => void {
    this.#handlers.add(handler);
    return () => this.#handlers.delete(handler);
  }

  onResync(handler: () => void): () => void {
    this.#resyncHandlers.add(handler);
    return () => this.#resyncHandlers.delete(handler);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#handlers.clear();
    this.#resyncHandlers.clear();
    await Promise.allSettled([this.#subscriber.close(), this.#publisher.close()]);
  }

  #receive(raw: string): void {
    let envelope: Envelope;
    try {
      envelope = JSON.parse(raw) as Envelope;
    } catch {
      this.#log('redis bus: a message that is not JSON was skipped');
      return;
    }
    if (envelope.node === this.#node) return;
    if (envelope.message.kind === 'resync') {
      this.#resync();
      return;
    }
    for (const handler of this.#handlers) handler(envelope.message);
  }

  /** Tells the other nodes that messages may have been lost while publishing failed (this one delivered its own). */
  #announceLoss(): void {
    this.#lost = false;
    this.#publisher.publish(this.#channel, JSON.stringify({ node: this.#node, message: { kind: 'resync' } } satisfies Envelope)).catch(() => {
      this.#lost = true;
    });
  }

  #resync(): void {
    for (const handler of this.#resyncHandlers) handler();
  }
}
