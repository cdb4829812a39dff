/**
 * B7 restart storm (../shared/BENCHMARKS.md): BENCH_GROUPS (100) groups of BENCH_MEMBERS (20)
 * connected clients, BENCH_RATE (100) msg/s through the API, an assistant answer streaming in
 * the first group; after BENCH_BEFORE (5) s the node is killed with -9 and started again at once
 * on the same port and data folder, and traffic goes on for BENCH_AFTER (10) s. Then: how long
 * each client took from the kill to being caught up (`synced`) again, clients never back within
 * BENCH_DEADLINE (60) s of the kill, acknowledged messages missing at any member, and the cut
 * answer's status (it must be `interrupted`).
 *
 * Parley's clients are the SDK's EventStream with its default backoff (full jitter, capped at
 * 10 s); a send refused while the node is down is sent again with the same id, as a client does.
 * Beside it, in the same run, the bare `ws` ceiling killed and restarted the same way, its
 * clients reconnecting with the same backoff: what reconnecting 2,000 sockets costs on this
 * machine with no authentication, no log and no replay.
 *
 * The server runs pinned to core 0, the clients in this process on core 1.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ParleyClient } from '@parley/sdk';
import { ceilingMember, connectAll, deliveriesOf, type Member, parleyMember } from './fanout/clients.js';
import { seedParley, sqliteIn } from './fanout/seed.js';
import { format, formatSpread, machine, percentile, printSettings, printTable, spread, summarize } from './measure.js';
import { report } from './report.js';
import { buildServer, pinSelf, type ServerProcess, startBaselineProcess, startServerProcess } from './server-process.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const env = (name: string, fallback: string) => process.env[name] ?? fallback;
const GROUPS = Number(env('BENCH_GROUPS', '100'));
const MEMBERS = Number(env('BENCH_MEMBERS', '20'));
const RATE = Number(env('BENCH_RATE', '100'));
const BEFORE = Number(env('BENCH_BEFORE', '5'));
const AFTER = Number(env('BENCH_AFTER', '10'));
const DEADLINE = Number(env('BENCH_DEADLINE', '60'));
const RUNS = Number(env('BENCH_RUNS', '1'));
const TARGETS = env('BENCH_TARGETS', 'parley,ceiling').split(',') as Array<'parley' | 'ceiling'>;
const PIN = os.availableParallelism() >= 2 && fs.existsSync('/usr/bin/taskset');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Figures {
  reconnect: number[];
  leftBehind: number;
  acknowledged: number;
  missing: number;
  duplicates: number;
  restartMs: number;
  answer: string;
}

interface Node {
  url: string;
  groups: { id: string; tokens: string[] }[];
  /** kill -9 and start again on the same port; resolves once it listens, with the time that took. */
  crash(): Promise<number>;
  stop(): Promise<void>;
  /** The assistant's token (Parley). */
  assistantToken?: string;
}

async function parleyNode(): Promise<Node> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-b7-'));
  const groups = await seedParley(sqliteIn(dataDir), GROUPS, MEMBERS);
  const assistantToken = crypto.randomBytes(24).toString('base64url');
  const settings = {
    PARLEY_DATA_DIR: dataDir,
    PARLEY_ASSISTANT: 'off',
    PARLEY_ASSISTANT_TOKEN: assistantToken,
    PARLEY_FLOOD_BURST: '1000000',
    PARLEY_FLOOD_PER_MINUTE: '100000000',
    // A free port each start: by default the widget origin takes the API's port plus one, which
    // the 2,000 clients' own ends of their connections may hold when the node starts again.
    PARLEY_WIDGET_PORT: '0',
  };
  buildServer();
  let server: ServerProcess = await startServerProcess({ env: settings, built: true, ...(PIN ? { cpu: 0 } : {}) });
  const url = server.url;
  const port = new URL(url).port;
  return {
    url,
    groups,
    assistantToken,
    async crash() {
      await server.kill('SIGKILL');
      const started = performance.now();
      server = await startServerProcess({ env: { ...settings, PORT: port }, built: true, ...(PIN ? { cpu: 0 } : {}) });
      return performance.now() - started;
    },
    async stop() {
      await server.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function ceilingNode(): Promise<Node> {
  let server = await startBaselineProcess(path.join(here, 'fanout', 'ceiling.ts'), { ...(PIN ? { cpu: 0 } : {}) });
  const port = new URL(server.url).port;
  return {
    url: server.url,
    groups: Array.from({ length: GROUPS }, (_, index) => ({ id: `room${index}`, tokens: [] })),
    async crash() {
      await server.kill('SIGKILL');
      const started = performance.now();
      server = await startBaselineProcess(path.join(here, 'fanout', 'ceiling.ts'), { port, ...(PIN ? { cpu: 0 } : {}) });
      return performance.now() - started;
    },
    stop: () => server.stop(),
  };
}

async function measure(target: 'parley' | 'ceiling'): Promise<Figures> {
  const node = target === 'parley' ? await parleyNode() : await ceilingNode();
  const members: Member[][] = node.groups.map((group) =>
    Array.from({ length: MEMBERS }, (_, position) =>
      target === 'parley' ? parleyMember(node.url, group.id, group.tokens[position] ?? '') : ceilingMember(node.url, group.id, { reconnect: true }),
    ),
  );
  const all = members.flat();
  try {
    await connectAll(all);
    // An answer streaming in the first group when the node dies (Parley).
    const bot = node.assistantToken ? new ParleyClient({ baseUrl: node.url, token: node.assistantToken }) : undefined;
    const firstGroup = node.groups[0]?.id ?? '';
    let streaming = true;
    let turnId: string | undefined;
    const answer = (async () => {
      if (!bot) return;
      const turn = await bot.api.startTurn({ params: { conversationId: firstGroup }, body: { id: `b7turn${crypto.randomBytes(6).toString('hex')}` } });
      turnId = turn.id;
      for (let index = 0; streaming; index += 1) {
        await bot.api.appendTurnDelta({ params: { conversationId: firstGroup, turnId }, body: { text: `token ${index} ` } }).catch(() => (streaming = false));
        await sleep(50);
      }
    })();

    const acknowledged = new Map<string, number>();
    let sending = true;
    let index = 0;
    const sends: Promise<void>[] = [];
    const sendOne = async (group: number, position: number, id: string) => {
      // A send refused while the node is down goes again with the same id, stored once.
      for (let attempt = 0; attempt < 200 && (sending || attempt === 0); attempt += 1) {
        try {
          await members[group]?.[position]?.send(id, `message ${id}`);
          acknowledged.set(id, group * MEMBERS + position);
          return;
        } catch {
          await sleep(100 + Math.random() * 200);
        }
      }
    };
    const traffic = (async () => {
      const started = performance.now();
      while (sending) {
        const due = Math.floor(((performance.now() - started) * RATE) / 1000);
        while (index <= due) {
          const group = index % GROUPS;
          const position = Math.floor(Math.random() * MEMBERS);
          sends.push(sendOne(group, position, `b7${crypto.randomBytes(9).toString('base64url')}`));
          index += 1;
        }
        await sleep(5);
      }
    })();

    await sleep(BEFORE * 1000);
    const killedAt = performance.now();
    const restartMs = await node.crash();
    await sleep(AFTER * 1000);
    sending = false;
    streaming = false;
    await traffic;
    await Promise.all(sends);
    await answer;
    // Every client back, or the deadline.
    const deadline = killedAt + DEADLINE * 1000;
    const back = (member: Member) => member.syncedAt.some((at) => at > killedAt);
    while (performance.now() < deadline && !all.every(back)) await sleep(100);
    await sleep(2000);
    const reconnect = all.flatMap((member) => {
      const at = member.syncedAt.find((time) => time > killedAt);
      return at === undefined ? [] : [at - killedAt];
    });
    const missing = acknowledged.size * (MEMBERS - 1) - deliveriesOf(members, acknowledged);
    let answerStatus = '—';
    if (bot && turnId) {
      const reader = new ParleyClient({ baseUrl: node.url, token: node.groups[0]?.tokens[0] ?? '' });
      const turns = await reader.api.listTurns({ params: { conversationId: firstGroup }, query: {} });
      answerStatus = turns.turns.find((turn) => turn.id === turnId)?.status ?? 'missing';
    }
    return {
      reconnect,
      leftBehind: all.length - reconnect.length,
      // The ceiling keeps nothing: a message sent while a member was away is not missing, it is gone.
      acknowledged: acknowledged.size,
      missing: target === 'parley' ? missing : Number.NaN,
      duplicates: all.reduce((sum, member) => sum + member.duplicates, 0),
      restartMs,
      answer: answerStatus,
    };
  } finally {
    for (const member of all) member.close();
    await node.stop();
  }
}

if (PIN) pinSelf(1);
printSettings({
  ...machine(),
  settings: `BENCH_GROUPS=${GROUPS} BENCH_MEMBERS=${MEMBERS} BENCH_RATE=${RATE} BENCH_BEFORE=${BEFORE} BENCH_AFTER=${AFTER} BENCH_DEADLINE=${DEADLINE} BENCH_RUNS=${RUNS} pinned=${PIN}`,
  parley: 'one node, SQLite, durability full, started as `npm start` runs it (node on the compiled server, built before the run; its start-up is part of the restart time); clients: the SDK EventStream, default backoff',
  ceiling: 'the bare ws broadcast server of B3, restarted the same way; clients reconnect with the same full-jitter backoff',
});
console.log(`\n## B7 restart storm: ${GROUPS * MEMBERS} clients, kill -9 after ${BEFORE} s at ${RATE} msg/s, restarted at once\n`);
const rows: string[][] = [];
const outcome = new Map<string, { p95: number; leftBehind: number; missing: number; answers: string[] }>();
for (const target of TARGETS) {
  const runs: Figures[] = [];
  for (let run = 0; run < RUNS; run += 1) {
    runs.push(await measure(target));
    const last = runs.at(-1);
    console.error(`${target} run ${run + 1}: ${JSON.stringify({ ...last, reconnect: summarize(last?.reconnect ?? []) })}`);
  }
  rows.push([
    target,
    formatSpread(runs.map((run) => run.restartMs), 0),
    formatSpread(runs.map((run) => summarize(run.reconnect).p50), 0),
    formatSpread(runs.map((run) => percentile(Float64Array.from(run.reconnect).sort(), 0.95)), 0),
    formatSpread(runs.map((run) => summarize(run.reconnect).max), 0),
    String(runs.reduce((sum, run) => sum + run.leftBehind, 0)),
    String(runs.reduce((sum, run) => sum + run.acknowledged, 0)),
    target === 'parley' ? String(runs.reduce((sum, run) => sum + run.missing, 0)) : '—',
    String(runs.reduce((sum, run) => sum + run.duplicates, 0)),
    runs.map((run) => run.answer).join(', '),
  ]);
  outcome.set(target, {
    p95: spread(runs.map((run) => percentile(Float64Array.from(run.reconnect).sort(), 0.95))).median,
    leftBehind: runs.reduce((sum, run) => sum + run.leftBehind, 0),
    missing: runs.reduce((sum, run) => sum + run.missing, 0),
    answers: runs.map((run) => run.answer),
  });
}
printTable(['server', 'restart ms', 'back p50 ms', 'back p95 ms', 'back max ms', 'left behind', 'acknowledged', 'missing', 'duplicates', 'cut answer'], rows);
const parley = outcome.get('parley');
const ceiling = outcome.get('ceiling');
if (parley) {
  report([
    {
      bench: 'B7',
      measure: 'restart storm: reconnect p95, left behind, acknowledged missing, cut answer',
      parley: `${format(parley.p95, 0)} ms, ${parley.leftBehind}, ${parley.missing}, ${parley.answers.join(' ')}`,
      baseline: ceiling ? `ceiling p95 ${format(ceiling.p95, 0)} ms, ${ceiling.leftBehind} left behind` : '—',
      target: '≤ 5,000 ms, 0, 0, interrupted',
      met: parley.p95 <= 5000 && parley.leftBehind === 0 && parley.missing === 0 && parley.answers.every((answer) => answer === 'interrupted'),
      value: parley.p95,
    },
  ]);
}
process.exit(0);
