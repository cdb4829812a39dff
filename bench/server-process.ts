import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const main = path.join(root, 'packages/parley/src/main.ts');

export interface ServerProcess {
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/**
 * Starts the real `parley` command in its own process (the server as people run it), pinned to
 * one core with taskset when asked and available, so the load generator can have the other.
 */
export async function startServerProcess(options: { env: Record<string, string>; cpu?: number }): Promise<ServerProcess> {
  const node = [process.execPath, '--conditions=parley-source', '--import', 'tsx', main];
  const pinned = options.cpu !== undefined && fs.existsSync('/usr/bin/taskset');
  const [command, ...args] = pinned ? ['taskset', '-c', String(options.cpu), ...node] : node;
  const child: ChildProcess = spawn(command ?? process.execPath, args, {
    cwd: root,
    env: { ...process.env, PORT: '0', ...options.env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /running at (http:\/\/\S+)/.exec(output);
      if (match?.[1]) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`the server exited (${code}) before listening: ${output}`)));
  });
  const pid = child.pid ?? 0;
  return {
    url,
    pid,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
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
