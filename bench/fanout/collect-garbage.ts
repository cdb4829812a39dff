import WebSocket from 'ws';

/**
 * Makes a running Node process collect its garbage (a full GC), from outside and without changing
 * how it was started: SIGUSR1 opens its inspector on 127.0.0.1:9229, and the DevTools protocol's
 * `HeapProfiler.collectGarbage` runs the collection; the inspector is closed again after. For B1:
 * the young generation holds what the handshakes allocated until its next scavenge, a fixed
 * amount (its semi-spaces, up to tens of MB) that the resident-memory delta would otherwise charge
 * to every socket. Every server of the bench is measured the same way.
 */
export async function collectGarbage(pid: number, port = 9229): Promise<void> {
  process.kill(pid, 'SIGUSR1');
  let targets: Array<{ webSocketDebuggerUrl?: string }> = [];
  for (let attempt = 0; attempt < 50 && targets.length === 0; attempt += 1) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    targets = await fetch(`http://127.0.0.1:${port}/json/list`)
      .then((response) => response.json() as Promise<typeof targets>)
      .catch(() => []);
  }
  const address = targets[0]?.webSocketDebuggerUrl;
  if (!address) throw new Error(`process ${pid} opened no inspector on port ${port}`);
  const socket = new WebSocket(address);
  await new Promise<void>((resolve, reject) => socket.once('open', () => resolve()).once('error', reject));
  let next = 0;
  const call = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<unknown>((resolve, reject) => {
      const id = (next += 1);
      const onMessage = (data: WebSocket.RawData) => {
        const reply = JSON.parse(String(data)) as { id?: number; result?: unknown; error?: { message: string } };
        if (reply.id !== id) return;
        socket.off('message', onMessage);
        if (reply.error) reject(new Error(reply.error.message));
        else resolve(reply.result);
      };
      socket.on('message', onMessage);
      socket.send(JSON.stringify({ id, method, params }));
    });
  try {
    await call('HeapProfiler.collectGarbage');
  } finally {
    // Closes the inspector again (it closes this connection), so the next server of the run can
    // open its own on the same port. Not awaited: the reply may never come.
    socket.send(JSON.stringify({ id: (next += 1), method: 'Runtime.evaluate', params: { expression: "process.getBuiltinModule('node:inspector').close()" } }));
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      setTimeout(() => {
        socket.terminate();
        resolve();
      }, 2000);
    });
  }
}
