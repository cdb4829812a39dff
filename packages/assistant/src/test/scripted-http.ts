import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RecordedRequest, ScriptedChunk, ScriptedResponse } from './scripted-script.js';

/** A scripted model server on loopback: real HTTP, answers taken from a queue the test fills. */
export interface ScriptedModelServer extends AsyncDisposable {
  /** The base URL to configure the provider with (PARLEY_MODEL_BASE_URL). */
  readonly url: string;
  /** Every request received, in order, with its parsed body. */
  readonly requests: readonly ScriptedRequest[];
  /** Queues answers; each request takes the next one. */
  push(...responses: ScriptedResponse[]): void;
  /** Queued answers not used yet. */
  readonly pending: number;
  close(): Promise<void>;
}

export interface ScriptedRequest extends RecordedRequest {
  /** Resolves when the exchange is over, whether the answer completed or the client left. */
  readonly closed: Promise<void>;
}

/** One request being answered: what a wire format needs to write its answer. */
export interface Exchange {
  readonly body: Record<string, unknown>;
  readonly response: http.ServerResponse;
  /** Aborted when the client closes the connection. */
  readonly clientGone: AbortSignal;
  /** Waits, or returns early when the client leaves. */
  pause(ms: number): Promise<void>;
  /** Writes raw bytes unless the client has left. */
  write(text: string): void;
  end(text?: string): void;
  /** Destroys the socket mid-answer, once what was written has left: the client sees the connection drop. */
  cut(): Promise<void>;
  /** Writes nothing more and waits until the client gives up. */
  stall(): Promise<void>;
}

export interface WireFormat {
  /** The path prefix the base URL points at, such as `/v1`. */
  basePath: string;
  /** Whether this format answers this method and path. */
  handles(method: string, path: string): boolean;
  answer(exchange: Exchange, script: ScriptedResponse): Promise<void>;
  /** The answer when no script is left: a clear, non-retryable failure. */
  unscripted(exchange: Exchange): void;
}

export async function startScriptedServer(format: WireFormat): Promise<ScriptedModelServer> {
  const queue: ScriptedResponse[] = [];
  const requests: ScriptedRequest[] = [];

  const server = http.createServer((request, response) => {
    void handle(request, response).catch((error: unknown) => {
      // A bug in the double itself: fail the request loudly rather than hang the test.
      if (!response.headersSent) response.writeHead(599, { 'content-type': 'text/plain' });
      response.end(`scripted server failed: ${String(error)}`);
    });
  });

  async function handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const raw = await readBody(request);
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    let body: unknown;
    try {
      body = raw.length > 0 ? JSON.parse(raw) : undefined;
    } catch {
      body = undefined;
    }
    const clientGone = new AbortController();
    let resolveClosed = () => {};
    const closed = new Promise<void>((resolve) => (resolveClosed = resolve));
    const recorded: ScriptedRequest = {
      method: request.method ?? 'GET',
      path,
      headers: request.headers,
      body,
      closedEarly: false,
      closed,
    };
    requests.push(recorded);
    response.on('close', () => {
      if (!response.writableFinished) {
        recorded.closedEarly = true;
        clientGone.abort();
      }
      resolveClosed();
    });
    response.socket?.setNoDelay(true);

    // Writes are tracked so that a cut drops the connection after the chunks before it were sent,
    // not instead of them (destroying a socket discards what is still buffered).
    let flushed: Promise<void> = Promise.resolve();
    const exchange: Exchange = {
      body: isRecord(body) ? body : {},
      response,
      clientGone: clientGone.signal,
      pause: (ms) => pause(ms, clientGone.signal),
      write: (text) => {
        if (clientGone.signal.aborted || response.writableEnded) return;
        flushed = new Promise((resolve) => response.write(text, () => resolve()));
      },
      end: (text) => {
        if (!clientGone.signal.aborted && !response.writableEnded) response.end(text);
      },
      cut: async () => {
        await flushed;
        clientGone.abort();
        response.socket?.destroy();
      },
      stall: () => pause(Number.POSITIVE_INFINITY, clientGone.signal),
    };

    if (!format.handles(recorded.method, path)) {
      response.writeHead(404, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: { message: `scripted server: no route ${recorded.method} ${path}` } }));
      return;
    }
    const script = queue.shift();
    if (!script) {
      format.unscripted(exchange);
      return;
    }
    if (script.delayMs) await exchange.pause(script.delayMs);
    if (clientGone.signal.aborted) return;
    await format.answer(exchange, script);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
    return closing;
  };
  return {
    url: `http://127.0.0.1:${port}${format.basePath}`,
    requests,
    push: (...responses) => void queue.push(...responses),
    get pending() {
      return queue.length;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Writes streamed chunks in order, honouring each chunk's pause; stops when the client leaves. */
export async function writeChunks(exchange: Exchange, chunks: readonly ScriptedChunk[], render: (text: string) => string): Promise<void> {
  for (const chunk of chunks) {
    const { text, delayMs } = typeof chunk === 'string' ? { text: chunk, delayMs: 0 } : chunk;
    if (delayMs > 0) await exchange.pause(delayMs);
    if (exchange.clientGone.aborted) return;
    exchange.write(render(text));
  }
}

export function chunkText(chunks: readonly ScriptedChunk[]): string {
  return chunks.map((chunk) => (typeof chunk === 'string' ? chunk : chunk.text)).join('');
}

/** Splits a string in `count` roughly equal pieces, as providers stream tool arguments. */
export function splitInPieces(text: string, count: number): string[] {
  const size = Math.max(1, Math.ceil(text.length / count));
  const pieces: string[] = [];
  for (let start = 0; start < text.length; start += size) pieces.push(text.slice(start, start + size));
  return pieces.length > 0 ? pieces : [''];
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

let sequence = 0;
/** Ids shaped like the provider's own (`chatcmpl-…`, `msg_…`, `toolu_…`). */
export function scriptedId(prefix: string): string {
  sequence += 1;
  return `${prefix}${Date.now().toString(36)}${sequence.toString(36).padStart(4, '0')}`;
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = Number.isFinite(ms) ? setTimeout(done, ms) : undefined;
    function done() {
      if (timer) clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

function readBody(request: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    request.on('data', (part: Buffer) => parts.push(part));
    request.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    request.on('error', reject);
  });
}
