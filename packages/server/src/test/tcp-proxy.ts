import net from 'node:net';

/** A TCP proxy on loopback whose link can be cut and restored: a network pause, for tests. */
export interface TcpProxy {
  /** `host:port` to connect to instead of the target. */
  readonly address: string;
  readonly port: number;
  /** Drops every open connection and refuses new ones until `restore`. */
  cut(): void;
  restore(): void;
  /** Stops passing bytes either way on open connections, which stay up: a peer that is there but silent. */
  pause(): void;
  resume(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const open = new Set<net.Socket>();
  let down = false;
  const server = net.createServer((client) => {
    if (down) {
      client.destroy();
      return;
    }
    const upstream = net.connect(target.port, target.host);
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on('close', () => open.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    address: `127.0.0.1:${port}`,
    port,
    cut() {
      down = true;
      for (const socket of [...open]) socket.destroy();
    },
    restore() {
      down = false;
    },
    pause() {
      for (const socket of open) socket.pause();
    },
    resume() {
      for (const socket of open) socket.resume();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of [...open]) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
