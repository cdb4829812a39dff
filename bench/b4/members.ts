/**
 * B4's load generator, in its own process: the people. It signs up the accounts, makes the
 * groups, holds one raw `ws` socket per member (authenticated with the member's bearer token,
 * `hello` then live; frames read with JSON.parse only, no schema, so the generator spends as
 * little as it can per frame), sends the mentions and the other groups' messages, and stamps
 * every token and message it receives on the shared monotonic clock. It also plays the baseline:
 * a client reading the scripted provider directly, with the assistant package's own model client.
 * Driven over IPC by ../b4-assistant-relay.ts.
 */
import crypto from 'node:crypto';
import { loadModels, type LoadModelsResult } from '@parley/assistant';
import { PROTOCOL_VERSION } from '@parley/protocol';
import { ParleyClient } from '@parley/sdk';
import WebSocket from 'ws';
import { PROMPT, readRaw } from './sse.js';
import { type MembersReply, type MembersRequest, monotonicMs, type Receipts, type SetupRequest, TOKEN_PATTERN } from './wire.js';

interface Member {
  /** Index among all sockets. */
  id: number;
  group: number;
  seat: number;
  /** The answer groups come first. */
  answering: boolean;
  userId: string;
  client: ParleyClient;
  socket?: WebSocket;
  /** The member's socket to the bare relay (the ceiling), answer groups only. */
  ceilingSocket?: WebSocket;
}

interface Group {
  id: string;
  members: Member[];
}

const PASSWORD = 'correct horse battery staple';

let setup: SetupRequest | undefined;
let members: Member[] = [];
let answerGroups: Group[] = [];
let otherGroups: Group[] = [];
let assistantName = 'Parley';

/** Growable columns of token receipts. */
class ReceiptLog {
  receiver: number[] = [];
  key: number[] = [];
  index: number[] = [];
  at: number[] = [];

  add(receiver: number, text: string, at: number): void {
    for (const match of text.matchAll(TOKEN_PATTERN)) {
      this.receiver.push(receiver);
      this.key.push(Number(match[1]));
      this.index.push(Number(match[2]));
      this.at.push(at);
    }
  }

  toReceipts(): Receipts {
    return { receiver: Int32Array.from(this.receiver), key: Int32Array.from(this.key), index: Int32Array.from(this.index), at: Float64Array.from(this.at) };
  }
}

interface RelayRound {
  log: ReceiptLog;
  firstDeltaAt: Float64Array;
  ends: number;
  failedEnds: number;
  expectedEnds: number;
  done: () => void;
}
let relay: RelayRound | undefined;

interface Traffic {
  perSecond: number;
  timer: NodeJS.Timeout;
  start: number;
  next: number;
  /** Message id → its scheduled time and sender. */
  pending: Map<string, { scheduledAt: number; senderId: number }>;
  scheduledAt: number[];
  receivedAt: number[];
  sent: number;
  failed: number;
  inFlight: number;
  worstSendLag: number;
  cpu: NodeJS.CpuUsage;
}
let traffic: Traffic | undefined;

function reply(message: MembersReply): void {
  process.send?.(message);
}

function cpuMsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

/** Runs `task` for 0..count-1, `width` at a time. */
async function pool<T>(count: number, width: number, task: (index: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, count) }, async () => {
      while (next < count) {
        const index = next;
        next += 1;
        results[index] = await task(index);
      }
    }),
  );
  return results;
}

function onFrame(member: Member, data: WebSocket.RawData): void {
  const at = monotonicMs();
  const frame = JSON.parse(data.toString()) as { type: string; [key: string]: unknown };
  switch (frame.type) {
    case 'assistant-text-delta': {
      const round = relay;
      if (!round || !member.answering) return;
      round.log.add(member.id, frame.delta as string, at);
      if (Number.isNaN(round.firstDeltaAt[member.id] ?? 0)) round.firstDeltaAt[member.id] = at;
      return;
    }
    case 'assistant-turn-end': {
      const round = relay;
      if (!round || !member.answering) return;
      round.ends += 1;
      if (frame.status !== 'completed') round.failedEnds += 1;
      if (round.ends === round.expectedEnds) round.done();
      return;
    }
    case 'event': {
      const event = frame.event as { type: string; message?: { id: string } };
      if (!traffic || event.type !== 'message-created' || !event.message) return;
      const sent = traffic.pending.get(event.message.id);
      if (!sent || sent.senderId === member.id) return;
      traffic.scheduledAt.push(sent.scheduledAt);
      traffic.receivedAt.push(at);
      return;
    }
    default:
      return;
  }
}

function connect(member: Member, url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/api/socket`, {
      headers: { authorization: `Bearer ${member.client.token ?? ''}` },
      perMessageDeflate: false,
    });
    member.socket = socket;
    let synced = false;
    socket.on('open', () => socket.send(JSON.stringify({ type: 'hello', protocolVersion: PROTOCOL_VERSION, positions: {} })));
    socket.on('message', (data) => {
      if (!synced) {
        const frame = JSON.parse(data.toString()) as { type: string };
        if (frame.type === 'synced') {
          synced = true;
          resolve();
        }
        return;
      }
      onFrame(member, data);
    });
    socket.on('error', (error) => {
      if (!synced) reject(error);
    });
    socket.on('close', (code, reason) => {
      if (!synced) reject(new Error(`socket closed before synced: ${code} ${reason.toString()}`));
      else if (code !== 1000 && code !== 1001) process.stderr.write(`member socket ${member.id} closed: ${code} ${reason.toString()}\n`);
    });
  });
}

/** A socket to the bare relay: no auth, no hello; it only forwards the provider's tokens. */
function connectCeiling(member: Member, url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${url}?group=${member.group}`, { perMessageDeflate: false });
    member.ceilingSocket = socket;
    socket.on('open', () => resolve());
    socket.on('message', (data) => onFrame(member, data));
    socket.on('error', reject);
  });
}

async function doSetup(request: SetupRequest): Promise<MembersReply> {
  const started = monotonicMs();
  setup = request;
  const groups = request.answerGroups + request.otherGroups;
  const count = groups * request.membersPerGroup;
  const prefix = `b4${process.pid.toString(36)}`;
  // Real sign-ups (argon2id hashing and all): a few at a time, as the server hashes on its thread pool.
  const accounts = await pool(count, 8, (index) =>
    ParleyClient.signUp(request.url, { username: `${prefix}_${index}`, password: PASSWORD, displayName: `Member ${index}` }),
  );
  members = accounts.map(({ client, user }, index) => {
    const group = Math.floor(index / request.membersPerGroup);
    return { id: index, group, seat: index % request.membersPerGroup, answering: group < request.answerGroups, userId: user.id, client };
  });
  const made = await pool(groups, 8, async (group) => {
    const seats = members.slice(group * request.membersPerGroup, (group + 1) * request.membersPerGroup);
    const [creator, ...others] = seats;
    if (!creator) throw new Error('empty group');
    const view = await creator.client.api.createConversation({
      body: { kind: 'group', title: `B4 group ${group}`, usernames: others.map((member) => accounts[member.id]?.user.username ?? '') },
    });
    assistantName = view.conversation.assistant?.name ?? assistantName;
    if (group >= request.answerGroups) {
      // Only human traffic here: the assistant follows it but is asked to speak only when mentioned.
      await creator.client.api.updateConversation({ params: { conversationId: view.conversation.id }, body: { assistant: { mode: 'mentions' } } });
    }
    return { id: view.conversation.id, members: seats };
  });
  answerGroups = made.slice(0, request.answerGroups);
  otherGroups = made.slice(request.answerGroups);
  await pool(members.length, 50, (index) => connect(members[index] as Member, request.url));
  const answering = members.filter((member) => member.answering);
  await pool(answering.length, 50, (index) => connectCeiling(answering[index] as Member, request.ceilingUrl));
  return { type: 'ready', users: members.length, sockets: members.length + answering.length, seconds: (monotonicMs() - started) / 1000, assistantName };
}

/**
 * One round: the answer groups' sockets record every token until each has seen its answer end.
 * Parley: one member of each group mentions the assistant, all at the same moment. Ceiling: the
 * parent's bare relay starts the streams itself once told the generator is listening.
 */
async function relayRound(round: number, ceiling: boolean, spreadMs = 0): Promise<MembersReply> {
  const perGroup = setup?.membersPerGroup ?? 0;
  const answerSockets = answerGroups.length * perGroup;
  const cpu = process.cpuUsage();
  let done = () => {};
  const finished = new Promise<void>((resolve) => (done = resolve));
  relay = { log: new ReceiptLog(), firstDeltaAt: new Float64Array(answerSockets).fill(Number.NaN), ends: 0, failedEnds: 0, expectedEnds: answerSockets, done };
  // One mention per group, from the group's creator: all at the same moment, or spread evenly over spreadMs.
  const mentionAt = monotonicMs() + 5;
  const groupMentionAt = (group: number) => mentionAt + (group * spreadMs) / Math.max(1, answerGroups.length);
  if (ceiling) reply({ type: 'listening' });
  else await mentionAll(round, groupMentionAt);
  const timeout = setTimeout(done, 60_000);
  await finished;
  clearTimeout(timeout);
  const current = relay;
  relay = undefined;
  return {
    type: 'round',
    receipts: current.log.toReceipts(),
    mentionToFirst: current.firstDeltaAt.map((at, socket) => at - groupMentionAt(members[socket]?.group ?? 0)),
    ends: current.ends,
    failedEnds: current.failedEnds,
    expectedEnds: current.expectedEnds,
    cpuMs: cpuMsSince(cpu),
  };
}

async function mentionAll(round: number, mentionAt: (group: number) => number): Promise<void> {
  await Promise.all(
    answerGroups.map(async (group, index) => {
      await until(mentionAt(index));
      await group.members[0]?.client.api.sendMessage({
        params: { conversationId: group.id },
        body: { id: crypto.randomBytes(12).toString('base64url'), text: `${assistantName}, round ${round}: tell us something about Lisbon?` },
      });
    }),
  );
}

/** Waits until the monotonic clock reaches `at`: a timer for the bulk, then turns of the loop for the last milliseconds. */
async function until(at: number): Promise<void> {
  const ahead = at - monotonicMs() - 2;
  if (ahead > 0) await new Promise((resolve) => setTimeout(resolve, ahead));
  while (monotonicMs() < at) await new Promise((resolve) => setImmediate(resolve));
}

let direct: { url: string; models: LoadModelsResult } | undefined;

/**
 * The baseline: `streams` concurrent requests read straight from the provider, each token
 * stamped as it arrives. `raw` is the least a client can do (fetch, split the SSE events,
 * JSON.parse each); `sdk` reads with the assistant package's own model client (the AI SDK).
 */
async function directRound(providerUrl: string, streams: number, client: 'raw' | 'sdk', spreadMs: number): Promise<MembersReply> {
  const cpu = process.cpuUsage();
  const log = new ReceiptLog();
  const firstDeltaAt = new Float64Array(streams).fill(Number.NaN);
  const mentionAt = monotonicMs() + 5;
  const streamStartAt = (stream: number) => mentionAt + (stream * spreadMs) / Math.max(1, streams);
  let failed = 0;
  const received = (stream: number, text: string, at: number) => {
    log.add(stream, text, at);
    if (Number.isNaN(firstDeltaAt[stream] ?? 0)) firstDeltaAt[stream] = at;
  };
  const read = client === 'raw' ? readRaw : readWithModelClient;
  await Promise.all(
    Array.from({ length: streams }, async (_, stream) => {
      await until(streamStartAt(stream));
      await read(providerUrl, (text, at) => received(stream, text, at)).catch(() => {
        failed += 1;
      });
    }),
  );
  const mentionToFirst = firstDeltaAt.map((at, stream) => at - streamStartAt(stream));
  return { type: 'round', receipts: log.toReceipts(), mentionToFirst, ends: streams - failed, failedEnds: failed, expectedEnds: streams, cpuMs: cpuMsSince(cpu) };
}

async function readWithModelClient(providerUrl: string, onText: (text: string, at: number) => void): Promise<void> {
  if (direct?.url !== providerUrl) {
    direct = {
      url: providerUrl,
      models: loadModels({
        PARLEY_MODEL_PROVIDER: 'openai-compatible',
        PARLEY_MODEL: 'scripted',
        PARLEY_MODEL_BASE_URL: providerUrl,
        PARLEY_MODEL_API_KEY: 'bench-key',
        PARLEY_MODEL_MAX_RETRIES: '0',
      }),
    };
  }
  const { models } = direct;
  if (models.status !== 'configured') throw new Error('the baseline model is not configured');
  for await (const part of models.models.fast.stream({ system: 'Benchmark.', messages: [{ role: 'user', content: PROMPT }] })) {
    if (part.type === 'text') onText(part.text, monotonicMs());
  }
}

/** The other groups' human messages, at a fixed rate, each timed from when it was due. */
function startTraffic(perSecond: number): void {
  const state: Traffic = {
    perSecond,
    timer: setInterval(() => tick(state), 1),
    start: monotonicMs() + 2,
    next: 0,
    pending: new Map(),
    scheduledAt: [],
    receivedAt: [],
    sent: 0,
    failed: 0,
    inFlight: 0,
    worstSendLag: 0,
    cpu: process.cpuUsage(),
  };
  traffic = state;
}

function tick(state: Traffic): void {
  if (state.perSecond <= 0 || otherGroups.length === 0) return;
  const now = monotonicMs();
  const perGroup = setup?.membersPerGroup ?? 1;
  for (;;) {
    const scheduledAt = state.start + (state.next * 1000) / state.perSecond;
    if (scheduledAt > now) return;
    const group = otherGroups[state.next % otherGroups.length];
    const sender = group?.members[Math.floor(state.next / otherGroups.length) % perGroup];
    state.next += 1;
    if (!group || !sender) continue;
    state.worstSendLag = Math.max(state.worstSendLag, now - scheduledAt);
    const id = crypto.randomBytes(12).toString('base64url');
    state.pending.set(id, { scheduledAt, senderId: sender.id });
    state.inFlight += 1;
    sender.client.api
      .sendMessage({ params: { conversationId: group.id }, body: { id, text: `Human message ${state.next}: are we still on for Saturday?` } })
      .then(
        () => (state.sent += 1),
        () => (state.failed += 1),
      )
      .finally(() => (state.inFlight -= 1));
  }
}

async function stopTraffic(): Promise<MembersReply> {
  const state = traffic;
  if (!state) throw new Error('no traffic running');
  clearInterval(state.timer);
  const others = (setup?.membersPerGroup ?? 1) - 1;
  // Let the last sends and their deliveries land.
  const deadline = monotonicMs() + 10_000;
  while (monotonicMs() < deadline && (state.inFlight > 0 || state.receivedAt.length < state.sent * others)) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  traffic = undefined;
  return {
    type: 'traffic',
    scheduledAt: Float64Array.from(state.scheduledAt),
    receivedAt: Float64Array.from(state.receivedAt),
    sent: state.sent,
    failed: state.failed,
    scheduled: state.next,
    expectedDeliveries: state.sent * others,
    worstSendLag: state.worstSendLag,
    cpuMs: cpuMsSince(state.cpu),
  };
}

process.on('message', (message: MembersRequest) => {
  const run = async (): Promise<MembersReply | undefined> => {
    switch (message.type) {
      case 'setup':
        return doSetup(message);
      case 'relay-round':
        return relayRound(message.round, false, message.spreadMs);
      case 'ceiling-round':
        return relayRound(message.round, true);
      case 'direct-round':
        return directRound(message.providerUrl, message.streams, message.client, message.spreadMs);
      case 'traffic-start':
        startTraffic(message.perSecond);
        return undefined;
      case 'traffic-stop':
        return stopTraffic();
      case 'close':
        for (const member of members) {
          member.socket?.close(1000);
          member.ceilingSocket?.close(1000);
        }
        setTimeout(() => process.exit(0), 200);
        return undefined;
    }
  };
  run().then(
    (answer) => answer && reply(answer),
    (error: unknown) => reply({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
  );
});
