#!/usr/bin/env node
// A round-robin TCP balancer for trying several Parley nodes on one machine, with nothing to
// install: each new connection (an HTTP keep-alive connection or a WebSocket) goes to the next
// node; a node that refuses it (down, or killed) is skipped for the next one. Not for production:
// put nginx, HAProxy, Caddy or a cloud load balancer in front of real nodes (any that passes
// WebSocket upgrades on /api/socket).
//
//   node scripts/round-robin.mjs 8080 127.0.0.1:3001 127.0.0.1:3002 127.0.0.1:3003
//
// Prints `balancing on <port>` once it listens (port 0 picks a free one).
import net from 'node:net';

const [listenArg, ...targetArgs] = process.argv.slice(2);
if (listenArg === undefined || targetArgs.length === 0) {
  console.error('usage: node scripts/round-robin.mjs <port> <host:port> [<host:port> …]');
  process.exit(2);
}
const targets = targetArgs.map((target) => {
  const separator = target.lastIndexOf(':');
  return { host: target.slice(0, separator) || '127.0.0.1', port: Number(target.slice(separator + 1)) };
});
let next = 0;

/** Connects to the next node that accepts, trying each once; null when none does. */
function connectUpstream(tried = 0) {
  return new Promise((resolve) => {
    if (tried >= targets.length) return resolve(null);
    const target = targets[next % targets.length];
    next += 1;
    const upstream = net.connect(target.port, target.host);
    upstream.once('connect', () => {
      upstream.removeAllListeners('error');
      resolve(upstream);
    });
    upstream.once('error', () => {
      upstream.destroy();
      connectUpstream(tried + 1).then(resolve);
    });
  });
}

const server = net.createServer((client) => {
  client.pause();
  client.on('error', () => client.destroy());
  connectUpstream().then((upstream) => {
    if (!upstream) return client.destroy();
    upstream.on('error', () => client.destroy());
    upstream.on('close', () => client.destroy());
    client.on('close', () => upstream.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
    client.resume();
  });
});

server.listen(Number(listenArg), '127.0.0.1', () => {
  console.log(`balancing on ${server.address().port}`);
});
process.once('SIGTERM', () => process.exit(0));
process.once('SIGINT', () => process.exit(0));
