import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { AssistantRuntime, type AssistantRuntimeOptions, catchUpMinutesOf, loadModels } from '@parley/assistant';
import { createLogger, isLogLevel, type Logger } from '@parley/server';

/**
 * The assistant in the server's process, on a thread of its own: reading the provider's tokens,
 * building prompts and summarising never hold the event loop that serves people's messages. It
 * is the same runtime as `npm run assistant`, talking to the server over loopback through the SDK.
 */

export interface AssistantThreadOptions {
  baseUrl: string;
  token: string;
  /** The process's logger: the thread logs at its level (a logger cannot cross to a thread, its level can). */
  logger: Logger;
  /** The module the thread runs; this one by default (a benchmark passes its own, which imports this one). */
  entry?: URL;
  /** Reports a crash; the thread is started again a second later. */
  onError?: (error: Error) => void;
}

export interface AssistantThread {
  /** The thread running now (another one after a restart). */
  readonly worker: Worker;
  /** Stops the runtime (answers in flight are stopped) and ends the thread. */
  close(): Promise<void>;
}

interface ThreadData {
  baseUrl: string;
  token: string;
  logLevel: string;
  /** The thread runs this module itself, which then starts the assistant on load. */
  selfStart: boolean;
}

type ThreadMessage = { type: 'ready' };

/** Where this module is, as the running code names it (the built .js, or the .ts source under tsx). */
const SELF = new URL(import.meta.url);
const RESTART_DELAY_MS = 1000;

/**
 * A built module runs as it is. TypeScript source (tests and benchmarks run it under tsx) needs
 * tsx's loader in the thread too: Node 20 does not pass the parent's `--import` hooks to workers.
 */
function threadEntry(entry: URL): URL {
  if (!entry.pathname.endsWith('.ts')) return entry;
  const tsx = import.meta.resolve('tsx/esm/api');
  const source = `import { register } from ${JSON.stringify(tsx)}; register(); await import(${JSON.stringify(entry.href)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(source)}`);
}

/** Starts the thread and waits until the assistant is connected and caught up. */
export async function startAssistantThread(options: AssistantThreadOptions): Promise<AssistantThread> {
  const data: ThreadData = { baseUrl: options.baseUrl, token: options.token, logLevel: options.logger.level, selfStart: options.entry === undefined };
  let closing = false;
  let worker: Worker;
  let restart: NodeJS.Timeout | undefined;

  const spawn = (): Promise<void> =>
    new Promise((resolve, reject) => {
      worker = new Worker(threadEntry(options.entry ?? SELF), { workerData: data });
      let ready = false;
      worker.on('message', (message: ThreadMessage) => {
        if (message.type === 'ready') {
          ready = true;
          resolve();
        }
      });
      worker.on('error', (error) => {
        if (!ready) reject(error);
        else options.onError?.(error);
      });
      worker.on('exit', (code) => {
        if (!ready) reject(new Error(`the assistant thread exited (${code}) before it was ready`));
        else if (!closing) {
          options.onError?.(new Error(`the assistant thread stopped (${code}); starting it again`));
          restart = setTimeout(() => spawn().catch((error: unknown) => options.onError?.(error as Error)), RESTART_DELAY_MS);
          restart.unref();
        }
      });
    });

  await spawn();
  return {
    get worker() {
      return worker;
    },
    async close() {
      closing = true;
      clearTimeout(restart);
      const current = worker;
      if (current.threadId === -1) return;
      const exited = new Promise<void>((resolve) => current.once('exit', () => resolve()));
      current.postMessage({ type: 'close' });
      // An answer that will not stop is not a reason to hang the shutdown.
      const timer = setTimeout(() => void current.terminate(), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The thread's side: runs the assistant until told to close. */
export async function runAssistantThread(options: Partial<Pick<AssistantRuntimeOptions, 'logger'>> = {}): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('runAssistantThread runs inside a worker thread');
  const { baseUrl, token, logLevel } = workerData as ThreadData;
  const runtime = new AssistantRuntime({
    baseUrl,
    token,
    models: loadModels(process.env),
    catchUpMinutes: catchUpMinutesOf(process.env),
    logger: options.logger ?? createLogger(isLogLevel(logLevel) ? logLevel : 'info').child({ thread: 'assistant' }),
  });
  await runtime.start();
  port.on('message', (message: { type: string }) => {
    if (message.type !== 'close') return;
    // Ends this thread only, whatever sockets the HTTP client still keeps open.
    void runtime.close().finally(() => process.exit(0));
  });
  port.postMessage({ type: 'ready' } satisfies ThreadMessage);
}

// Run as the thread's entry (not when imported): start the assistant.
if (!isMainThread && (workerData as Partial<ThreadData> | null)?.selfStart === true) await runAssistantThread();
