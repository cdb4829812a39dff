/**
 * The load generator of the fan-out benchmarks, in its own process (pinned to its own core by
 * the orchestrator): one socket per member, messages sent at a fixed rate to groups in turn, and
 * every delivery timed from the moment its send was *scheduled* (coordinated omission
 * corrected). It reads its job from the JSON file named by argv[2] and prints one JSON result line.
 */
import fs from 'node:fs';
import { io, type Socket as IoSocket } from 'socket.io-client';
import WebSocket from 'ws';
import { pinSelf } from '../server-process.js';
import type { ClientMessage, ServerMessage } from './wire.js';

export type Target = 'ceiling' | 'socketio' | 'parley';

export interface Job {
  target: Target;
  /** http://127.0.0.1:port */
  url: string;
  /** Parley nodes of one installation: member i connects (and sends) to urls[i % length]; default [url]. */
  urls?: string[];
  /** Per group: its id and one token per member (Parley), or just a size (the baselines). */
  groups: { id: string; tokens: string[] }[];
  mode: 'latency' | 'idle';
  rate: number;
  seconds: number;
  warmupSeconds: number;
  /** How long deliveries may still arrive after the last send is acknowledged (default 3). */
  drainSeconds?: number;
  cpu?: number;
  protocolVersion?: number;
}

export interface Result {
  connected: number;
  sent: number;
  sendFailures: number;
  /** Failed sends by what failed them (the error, and its cause's code when there is one). */
  failureKinds?: Record<string, number>;
  expected: number;
  delivered: number;
  /** Deliveries of measured messages, in ms from the scheduled send. */
  latencies: number[];
  /** Send → acknowledgement, in ms from the scheduled send. */
  acks: number[];
  seconds: number;
  /** This process's CPU time (all threads) from the first send to the last delivery, in µs per message sent. */
  cpuPerMessage: number;
}

interface Member {
  send(room: string, id: string, text: string): Promise<void>;
  close(): void;
}

const job = JSON.parse(fs.readFileSync(process.argv[2] ?? '', 'utf8')) as Job;
if (job.cpu !== undefined) pinSelf(job.cpu);

/** Each message's scheduled send time and its sender (whose own copy, if the server sends one, is not a delivery). */
const scheduled = new Map<string, { at: number; measured: boolean; sender: number }>();
const latencies: number[] = [];
const acks: number[] = [];
let delivered = 0;
const failureKinds: Record<string, number> = {};

function received(id: string, self: number): void {
  const sent = scheduled.get(id);
  if (!sent || sent.sender === self) return;
  delivered += 1;
  if (sent.measured) latencies.push(performance.now() - sent.at);
}

function connectCeiling(room: string, self: number): Promise<Member> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(job.url.replace(/^http/, 'ws'), { perMessageDeflate: false });
    const pendingAcks = new Map<string, () => void>();
    socket.on('open', () => socket.send(JSON.stringify({ t: 'join', rooms: [room] } satisfies ClientMessage)));
    socket.on('error', reject);
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as ServerMessage;
      if (message.t === 'joined') {
        resolve({
          send: (to, id, text) =>
            new Promise<void>((done) => {
              pendingAcks.set(id, done);
              socket.send(JSON.stringify({ t: 'send', room: to, id, text } satisfies ClientMessage));
            }),
          close: () => socket.close(),
        });
      } else if (message.t === 'msg') received(message.id, self);
      else if (message.t === 'ack') {
        pendingAcks.get(message.id)?.();
        pendingAcks.delete(message.id);
      }
    });
  });
}

function connectSocketIo(room: string, self: number): Promise<Member> {
  return new Promise((resolve, reject) => {
    const socket: IoSocket = io(job.url, { transports: ['websocket'], reconnection: false, forceNew: true });
    const pendingAcks = new Map<string, () => void>();
    socket.on('connect', () => socket.emit('m', { t: 'join', rooms: [room] } satisfies ClientMessage));
    socket.on('connect_error', reject);
    socket.on('m', (message: ServerMessage) => {
      if (message.t === 'joined') {
        resolve({
          send: (to, id, text) =>
            new Promise<void>((done) => {
              pendingAcks.set(id, done);
              socket.emit('m', { t: 'send', room: to, id, text } satisfies ClientMessage);
            }),
          close: () => socket.close(),
        });
      } else if (message.t === 'msg') received(message.id, self);
      else if (message.t === 'ack') {
        pendingAcks.get(message.id)?.();
        pendingAcks.delete(message.id);
      }
    });
  });
}

function connectParley(token: string, self: number): Promise<Member> {
  const urls = job.urls ?? [job.url];
  const url = urls[self % urls.length] ?? job.url;
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/api/socket`, { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false });
    socket.on('open', () => socket.send(JSON.stringify({ type: 'hello', protocolVersion: job.protocolVersion, positions: {} })));
    socket.on('error', reject);
    socket.on('message', (data) => {
      const frame = JSON.parse(String(data)) as { type: string; event?: { type: string; message?: { id: string } } };
      if (frame.type === 'synced') {
        resolve({
          async send(conversationId, id, text) {
            const response = await fetch(`${url}/api/conversations/${conversationId}/messages`, {
              method: 'POST',
              headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
              body: JSON.stringify({ id, text }),
            });
            await response.arrayBuffer();
            if (!response.ok) throw new Error(`send answered ${response.status}`);
          },
          close: () => socket.close(),
        });
      } else if (frame.type === 'event' && frame.event?.type === 'message-created' && frame.event.message) received(frame.event.message.id, self);
    });
  });
}

async function connectAll(): Promise<Member[][]> {
  const slots: Array<() => Promise<Member>> = [];
  const byGroup: Member[][] = job.groups.map(() => []);
  job.groups.forEach((group, index) => {
    group.tokens.forEach((token, position) => {
      const self = index * group.tokens.length + position;
      slots.push(async () => {
        const member =
          job.target === 'ceiling'
            ? await connectCeiling(group.id, self)
            : job.target === 'socketio'
              ? await connectSocketIo(group.id, self)
              : await connectParley(token, self);
        // In the group's order, whatever order the handshakes finished in: a member's index names it.
        byGroup[index]![position] = member;
        return member;
      });
    });
  });
  // A few hundred at a time: a burst of 10,000 handshakes would measure the accept queue.
  for (let start = 0; start < slots.length; start += 200) await Promise.all(slots.slice(start, start + 200).map((connect) => connect()));
  return byGroup;
}

async function main(): Promise<void> {
  const members = await connectAll();
  const connected = members.reduce((sum, group) => sum + group.length, 0);
  if (job.mode === 'idle') {
    // Connected and idle: the orchestrator reads the server's memory now, then tells us to stop.
    console.log(JSON.stringify({ connected }));
    await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
    for (const group of members) for (const member of group) member.close();
    return;
  }
  const total = Math.round(job.rate * (job.warmupSeconds + job.seconds));
  const warmup = Math.round(job.rate * job.warmupSeconds);
  const interval = 1000 / job.rate;
  const groupSize = members[0]?.length ?? 0;
  let sent = 0;
  let failures = 0;
  let settled = 0;
  // The orchestrator reads the server's CPU time from here to the result: the sends, not the handshakes.
  console.log(JSON.stringify({ sending: total }));
  const start = performance.now() + 20;
  const cpuBefore = process.cpuUsage();
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (sent < total && start + sent * interval <= now) {
        const index = sent;
        const at = start + index * interval;
        sent += 1;
        const group = index % members.length;
        const position = Math.floor(index / members.length) % groupSize;
        const sender = members[group]?.[position];
        const id = `bench${index.toString(36).padStart(6, "0")}x${process.pid.toString(36)}`;
        const measured = index >= warmup;
        scheduled.set(id, { at, measured, sender: group * groupSize + position });
        (sender?.send(job.groups[group]?.id ?? '', id, `message ${index}`) ?? Promise.reject(new Error('no sender'))).then(
          () => {
            if (measured) acks.push(performance.now() - at);
            settled += 1;
            if (settled === total) resolve();
          },
          (error: unknown) => {
            const code = (error as { cause?: { code?: unknown } } | null)?.cause?.code;
            const kind = `${String(error)}${typeof code === 'string' ? ` (${code})` : ''}`;
            failureKinds[kind] = (failureKinds[kind] ?? 0) + 1;
            failures += 1;
            settled += 1;
            if (settled === total) resolve();
          },
        );
      }
      if (sent < total) setTimeout(tick, Math.max(0, Math.min(1, start + sent * interval - performance.now())));
    };
    setTimeout(tick, 20);
  });
  const expected = total * (groupSize - 1);
  // Deliveries still under way when the last send is acknowledged: a little time to arrive.
  const drainUntil = performance.now() + 1000 * (job.drainSeconds ?? 3);
  while (delivered < expected && performance.now() < drainUntil) await new Promise((resolve) => setTimeout(resolve, 20));
  const cpu = process.cpuUsage(cpuBefore);
  const result: Result = {
    connected,
    cpuPerMessage: (cpu.user + cpu.system) / Math.max(1, total),
    sent: total,
    sendFailures: failures,
    ...(failures > 0 ? { failureKinds } : {}),
    expected,
    delivered,
    latencies,
    acks,
    seconds: (performance.now() - start) / 1000,
  };
  for (const group of members) for (const member of group) member.close();
  // A pipe is written asynchronously: exit only once the whole result line is out.
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
}

await main();
