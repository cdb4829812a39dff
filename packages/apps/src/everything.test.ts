import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AppConnection, type AppSource, type ToolProgress } from './connection.js';

/**
 * The published `@modelcontextprotocol/server-everything` (built on the 2025 SDK), run from the
 * installed package, offline: over stdio, and over Streamable HTTP as its own process. Parley's
 * client negotiates it down to the 2025 era, lists it, calls it, hears its progress and cancels
 * a long operation ([AP3], [AP12], [AP13]).
 */
const everything = path.join(path.dirname(createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/package.json')), 'dist/index.js');

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/** Starts the server's Streamable HTTP transport on a free port; its endpoint is `/mcp`. */
async function startHttpEverything(): Promise<{ url: string } & AsyncDisposable> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [everything, 'streamableHttp'], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(`listening on port ${port}`)) resolve();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`server-everything exited (${code}):\n${output}`)));
  });
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    [Symbol.asyncDispose]: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

async function exercise(source: AppSource): Promise<void> {
  const connection = await AppConnection.open(source, { timeoutMs: 20_000 });
  try {
    const listing = await connection.list();
    expect(listing.protocolEra).toBe('legacy');
    expect(listing.server?.name).toEqual(expect.any(String));
    const names = listing.tools.map((tool) => tool.name);
    expect(names).toEqual(expect.arrayContaining(['echo', 'get-sum', 'trigger-long-running-operation']));
    expect(listing.tools.find((tool) => tool.name === 'trigger-long-running-operation')?.annotations.readOnlyHint).toBe(true);
    expect(listing.hash).toMatch(/^[0-9a-f]{64}$/);

    const echoed = await connection.callTool('echo', { message: 'hello from Parley' });
    expect(JSON.stringify(echoed.content)).toContain('hello from Parley');
    const sum = await connection.callTool('get-sum', { a: 2, b: 40 });
    expect(JSON.stringify(sum.content)).toContain('42');

    const heard: ToolProgress[] = [];
    await connection.callTool('trigger-long-running-operation', { duration: 0.3, steps: 3 }, { onProgress: (progress) => heard.push(progress) });
    // The last report can lose the race with the result it comes just before (the client stops
    // listening once the result is in): the reports heard are the first ones, in order.
    expect(heard.length).toBeGreaterThanOrEqual(1);
    expect(heard.map((item) => [item.progress, item.total])).toEqual(
      [
        [1, 3],
        [2, 3],
        [3, 3],
      ].slice(0, heard.length),
    );

    const stop = new AbortController();
    const started = performance.now();
    const long = connection.callTool('trigger-long-running-operation', { duration: 60, steps: 60 }, { signal: stop.signal });
    setTimeout(() => stop.abort(new Error('stopped')), 200);
    await expect(long).rejects.toThrow();
    expect(performance.now() - started).toBeLessThan(5000);
    // The connection outlives the cancellation.
    expect(JSON.stringify((await connection.callTool('echo', { message: 'still here' })).content)).toContain('still here');
  } finally {
    await connection.close();
  }
}

describe('@modelcontextprotocol/server-everything', () => {
  it('[AP3] over stdio: negotiated to the 2025 era, listed, called, with progress and a cancellation', async () => {
    await exercise({ transport: 'stdio', command: [process.execPath, everything, 'stdio'] });
  }, 60_000);

  it('[AP3] over Streamable HTTP: negotiated to the 2025 era, listed, called, with progress and a cancellation', async () => {
    await using server = await startHttpEverything();
    await exercise({ transport: 'http', url: server.url });
  }, 60_000);
});
