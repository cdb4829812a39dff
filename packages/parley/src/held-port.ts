import net from 'node:net';
import type { HeldPort } from '@parley/server';

/**
 * Queued connections the kernel keeps for a listening socket (it caps this at somaxconn): a node
 * restarted under a crowd of clients takes them all in line rather than dropping their SYNs,
 * which a client would only send again a second later. Node's default is 511.
 */
export const BACKLOG = 4096;

/**
 * Listens on the node's address at once, before the server's modules are loaded, and holds the
 * connections that arrive, paused, until `startServer` takes the port over (see HeldPort). A
 * client that connects meanwhile waits for its answer instead of being refused.
 */
export function holdPort(address: { port: number; host: string }): Promise<HeldPort & { readonly port: number; readonly waiting: number }> {
  /** Each held connection, with what to do if it fails before the node is ready: forget it. */
  const waiting = new Map<net.Socket, () => void>();
  const server = net.createServer({ pauseOnConnect: true });
  const hold = (socket: net.Socket) => {
    const forget = () => {
      waiting.delete(socket);
      socket.destroy();
    };
    waiting.set(socket, forget);
    socket.once('error', forget);
  };
  server.on('connection', hold);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: address.port, host: address.host, backlog: BACKLOG }, () => {
      server.off('error', reject);
      const bound = server.address();
      resolve({
        port: typeof bound === 'object' && bound ? bound.port : address.port,
        /** Connections held now. */
        get waiting() {
          return waiting.size;
        },
        handle: (server as unknown as { _handle: object })._handle,
        release: () => {
          server.off('connection', hold);
          const sockets = [...waiting.keys()];
          for (const [socket, forget] of waiting) socket.off('error', forget);
          waiting.clear();
          return sockets;
        },
      });
    });
  });
}
