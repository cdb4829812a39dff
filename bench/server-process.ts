import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const main = path.join(root, 'packages/parley/src/main.ts');
const built = path.join(root, 'packages/parley/dist/main.js');

/** Compiles the server (`tsc -b packages/parley`), for benchmarks that start it as `npm start` does. */
export function buildServer(): void {
  execFileSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-b', path.join(root, 'packages/parley')], { cwd: root, stdio: 'inherit' });
}

export interface ServerProcess {
  readonly url: string;
  readonly pid: number;
  /** SIGTERM, and waits for the exit. */
  stop(): Promise<void>;
  /** Sends `signal` (SIGKILL: a crash), and waits for the exit. */
  kill(signal: NodeJS.Signals): Promise<void>;
}

/** A child process's exit, after `signal`. */
function ending(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

/** Spawns `node`'s arguments pinned to `cpu` when asked and taskset is there; resolves with the first match of `ready` in its output. */
async function spawnUntil(node: string[], options: { cpu?: number; env: NodeJS.ProcessEnv; cwd: string }, ready: RegExp): Promise<{ child: ChildProcess; match: string }> {
  const pinned = options.cpu !== undefined && fs.existsSync('/usr/bin/taskset');
  const [command, ...args] = pinned ? ['taskset', '-c', String(options.cpu), ...node] : node;
  const child: ChildProcess = spawn(command ?? process.execPath, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'inherit'] });
  const match = await new Promise<string>((resolve, reject) => {
    let output = '';
    let started = false;
    child.stdout?.on('data', (chunk: Buffer) => {
      // After the ready line, what the process prints (its logs, --trace-gc) goes on to stderr.
      if (started) return void process.stderr.write(chunk);
      output += chunk.toString();
      const found = ready.exec(output);
      if (found?.[1]) {
        started = true;
        resolve(found[1]);
      }
    });
    child.once('exit', (code) => reject(new Error(`${node.at(-1) ?? 'the process'} exited (${code}) before it was ready: ${output}`)));
  });
  return { child, match };
}

/**
 * Starts the real `parley` command in its own process (the server as people run it), pinned to
 * one core with taskset when asked and available, so the load generator can have the other.
 */
export async function startServerProcess(options: { env: Record<string, string>; cpu?: number; built?: boolean }): Promise<ServerProcess> {
  // `built`: the compiled server, as `npm start` runs it (call buildServer first); else the source through tsx.
  const node = options.built ? [process.execPath, built] : [process.execPath, '--conditions=parley-source', '--import', 'tsx', main];
  const { child, match: url } = await spawnUntil(
    node,
    { ...(options.cpu !== undefined ? { cpu: options.cpu } : {}), cwd: root, env: { ...process.env, PORT: '0', ...options.env } },
    /running at (http:\/\/\S+)/,
  );
  return { url, pid: child.pid ?? 0, stop: () => ending(child, 'SIGTERM'), kill: (signal) => ending(child, signal) };
}

/**
 * Starts a baseline server of the benchmarks (a script that prints `listening on <port>`), on
 * `port` or a free one, pinned like Parley.
 */
export async function startBaselineProcess(script: string, options: { cpu?: number; port?: string; env?: Record<string, string> } = {}): Promise<ServerProcess> {
  const { child, match: port } = await spawnUntil(
    [process.execPath, '--import', 'tsx', script],
    { ...(options.cpu !== undefined ? { cpu: options.cpu } : {}), cwd: path.dirname(script), env: { ...process.env, PORT: options.port ?? '0', ...options.env } },
    /listening on (\d+)/,
  );
  return { url: `http://127.0.0.1:${port}`, pid: child.pid ?? 0, stop: () => ending(child, 'SIGTERM'), kill: (signal) => ending(child, signal) };
}

/** Pins this process (the load generator) to one core, when taskset is there. */
export function pinSelf(cpu: number): boolean {
  if (!fs.existsSync('/usr/bin/taskset')) return false;
  try {
    execFileSync('taskset', ['-pc', String(cpu), String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
