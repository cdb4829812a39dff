/**
 * The peer a Node developer would otherwise pick: a Socket.IO 4 server with rooms and no storage,
 * driven by the same generator as the ceiling and Parley. WebSocket transport only (no polling
 * upgrade), no per-message compression: its best case.
 *
 * Run: node --import tsx bench/fanout/socketio-peer.ts   (prints `listening on <port>`)
 */
import http from 'node:http';
import { Server } from 'socket.io';
import type { ClientMessage, ServerMessage } from './wire.js';

const httpServer = http.createServer();
const io = new Server(httpServer, { transports: ['websocket'], perMessageDeflate: false, serveClient: false });

io.on('connection', (socket) => {
  socket.on('m', (message: ClientMessage) => {
    if (message.t === 'join') {
      void socket.join(message.rooms);
      socket.emit('m', { t: 'joined' } satisfies ServerMessage);
      return;
    }
    socket.to(message.room).emit('m', { t: 'msg', room: message.room, id: message.id, text: message.text } satisfies ServerMessage);
    socket.emit('m', { t: 'ack', id: message.id } satisfies ServerMessage);
  });
});

httpServer.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const address = httpServer.address();
  console.log(`listening on ${typeof address === 'object' && address ? address.port : address}`);
});

// Stopped with SIGTERM by the bench: exit normally, so that --cpu-prof (BENCH_PROFILE) writes its profile.
process.on('SIGTERM', () => process.exit(0));
