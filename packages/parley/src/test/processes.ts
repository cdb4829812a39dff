import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';

/** The repository's root: where the tests start `parley` and the scripts from. */
export const root = path.resolve(import.meta.dirname, '../../../..');

export interface Child {
  readonly pid: number;
  output(): string;
  /** Sends `signal` unless it has exited already, and waits for the exit. */
  kill(signal: NodeJS.Signals): Promise<void>;
}

/** Runs `node` with `args` from the root and resolves once `ready` matches what it printed. */
export function launch(args: string[], env: Record<string, string>, ready: RegExp): Promise<{ child: Child; match: RegExpExecArray }> {
  const process_: ChildProcess = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<void>((resolve) => process_.once('exit', () => resolve()));
  const child: Child = {
    pid: process_.pid ?? 0,
    output: () => output,
    kill: (signal) => {
      if (process_.exitCode === null && process_.signalCode === null) process_.kill(signal);
      return exited;
    },
  };
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = ready.exec(output);
      if (match) resolve({ child, match });
    };
    process_.stdout?.on('data', onData);
    process_.stderr?.on('data', onData);
    process_.once('exit', (code) => reject(new Error(`exited (${code}) before it was ready:\n${output}`)));
  });
}

/** A port free on loopback right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/** The `parley` command from its sources, on `port`, once it says it is running. */
export async function startParley(env: Record<string, string>, port: number): Promise<Child> {
  const { child } = await launch(['--conditions=parley-source', '--import', 'tsx', 'packages/parley/src/main.ts'], { PARLEY_WIDGET_PORT: '0', ...env, PORT: String(port) }, /Parley is running at/);
  return child;
}
