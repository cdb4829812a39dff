/**
 * The ceiling: a bare `ws` broadcast server written for the benchmarks. Rooms in memory, no
 * authentication, no storage, one JSON.stringify per message. It is what Node and `ws` can do on
 * this machine, and Parley is judged against it (../../shared/BENCHMARKS.md).
 *
 * Run: node --import tsx bench/fanout/ceiling.ts   (prints `listening on <port>`)
 */
import { type WebSocket, WebSocketServer } from 'ws';
import type { ClientMessage, ServerMessage } from './wire.js';

const rooms = new Map<string, Set<WebSocket>>();
const server = new WebSocketServer({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1', perMessageDeflate: false });

server.on('connection', (socket) => {
  const joined: string[] = [];
  socket.on('message', (data) => {
    const message = JSON.parse(String(data)) as ClientMessage;
    if (message.t === 'join') {
      for (const room of message.rooms) {
        let members = rooms.get(room);
        if (!members) rooms.set(room, (members = new Set()));
        members.add(socket);
        joined.push(room);
      }
      socket.send(JSON.stringify({ t: 'joined' } satisfies ServerMessage));
      return;
    }
    const frame = JSON.stringify({ t: 'msg', room: message.room, id: message.id, text: message.text } satisfies ServerMessage);
    for (const member of rooms.get(message.room) ?? []) if (member !== socket) member.send(frame);
    socket.send(JSON.stringify({ t: 'ack', id: message.id } satisfies ServerMessage));
  });
  socket.on('close', () => {
    for (const room of joined) rooms.get(room)?.delete(socket);
  });
});

server.on('listening', () => {
  const address = server.address();
  console.log(`listening on ${typeof address === 'object' && address ? address.port : address}`);
});

// Stopped with SIGTERM by the bench: exit normally, so that --cpu-prof (BENCH_PROFILE) writes its profile.
process.on('SIGTERM', () => process.exit(0));
