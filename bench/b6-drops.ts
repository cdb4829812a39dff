/**
 * B6 drops (../shared/BENCHMARKS.md): BENCH_GROUPS (100) groups of BENCH_MEMBERS (20), one client
 * per member, BENCH_GROUP_RATE (2) messages a second per group for BENCH_SECONDS (160); every
 * client's socket is closed about every BENCH_DROP_EVERY (15) seconds (at random between 0.8× and
 * 1.2×) and stays away BENCH_DROP_FOR (2) seconds. Then every message that was acknowledged must
 * have reached every other member of its group exactly once, in order.
 *
 * Parley's clients are the SDK's EventStream: a dropped client comes back with the positions it
 * held, and the time from its new connection to `synced` is its replay. Beside it, in the same
 * run, the bare `ws` ceiling with the same drops: it keeps nothing, so what a client misses while
 * away is lost, which is what a relay without a log delivers.
 *
 * The server runs in its own process pinned to core 0; the clients run in this one, on core 1.
 * BENCH_TARGETS (parley,ceiling) and BENCH_RUNS (1) choose what runs.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ceilingMember, connectAll, deliveriesOf, type Member, parleyMember } from './fanout/clients.js';
import { seedParley, sqliteIn } from './fanout/seed.js';
import { format, formatSpread, machine, printSettings, printTable, spread, summarize } from './measure.js';
import { report } from './report.js';
import { pinSelf, startBaselineProcess, startServerProcess } from './server-process.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const env = (name: string, fallback: string) => process.env[name] ?? fallback;
const GROUPS = Number(env('BENCH_GROUPS', '100'));
const MEMBERS = Number(env('BENCH_MEMBERS', '20'));
const GROUP_RATE = Number(env('BENCH_GROUP_RATE', '2'));
const SECONDS = Number(env('BENCH_SECONDS', '160'));
const DROP_EVERY = Number(env('BENCH_DROP_EVERY', '15'));
const DROP_FOR = Number(env('BENCH_DROP_FOR', '2'));
const RUNS = Number(env('BENCH_RUNS', '1'));
const TARGETS = env('BENCH_TARGETS', 'parley,ceiling').split(',') as Array<'parley' | 'ceiling'>;
const PIN = os.availableParallelism() >= 2 && fs.existsSync('/usr/bin/taskset');

interface Running {
  url: string;
  /** Per group: its id and its members' tokens (empty for the ceiling). */
  groups: { id: string; tokens: string[] }[];
  stop(): Promise<void>;
}

async function startParley(): Promise<Running> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-b6-'));
  const groups = await seedParley(sqliteIn(dataDir), GROUPS, MEMBERS);
  const server = await startServerProcess({
    env: { PARLEY_DATA_DIR: dataDir, PARLEY_ASSISTANT: 'off', PARLEY_FLOOD_BURST: '1000000', PARLEY_FLOOD_PER_MINUTE: '100000000' },
    ...(PIN ? { cpu: 0 } : {}),
  });
  return {
    url: server.url,
    groups,
    async stop() {
      await server.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function startCeiling(): Promise<Running> {
  const server = await startBaselineProcess(path.join(here, 'fanout', 'ceiling.ts'), PIN ? { cpu: 0 } : {});
  return { url: server.url, groups: Array.from({ length: GROUPS }, (_, index) => ({ id: `room${index}`, tokens: [] })), stop: () => server.stop() };
}

interface Figures {
  sent: number;
  acknowledged: number;
  delivered: number;
  duplicates: number;
  reorders: number;
  replays: number[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function measure(target: 'parley' | 'ceiling'): Promise<Figures> {
  const running = target === 'parley' ? await startParley() : await startCeiling();
  const members = running.groups.map((group) =>
    Array.from({ length: MEMBERS }, (_, position) =>
      target === 'parley' ? parleyMember(running.url, group.id, group.tokens[position] ?? '') : ceilingMember(running.url, group.id),
    ),
  );
  try {
    const all = members.flat();
    await connectAll(all);
    const acknowledged = new Map<string, number>();
    let sent = 0;
    const sends: Promise<void>[] = [];
    const started = performance.now();
    const end = started + SECONDS * 1000;
    const timers: NodeJS.Timeout[] = [];
    const away = new Set<Member>();
    // Each client drops at its own random moments.
    const scheduleDrop = (member: Member) => {
      const wait = DROP_EVERY * 1000 * (0.8 + 0.4 * Math.random());
      if (performance.now() + wait + DROP_FOR * 1000 > end) return;
      timers.push(
        setTimeout(() => {
          member.drop();
          away.add(member);
          timers.push(
            setTimeout(() => {
              away.delete(member);
              member.connect();
              scheduleDrop(member);
            }, DROP_FOR * 1000),
          );
        }, wait),
      );
    };
    for (const member of all) scheduleDrop(member);
    const interval = 1000 / (GROUP_RATE * GROUPS);
    while (performance.now() < end) {
      const due = Math.floor((performance.now() - started) / interval);
      while (sent <= due && performance.now() < end) {
        const group = sent % GROUPS;
        const position = Math.floor(Math.random() * MEMBERS);
        const id = `b6${crypto.randomBytes(9).toString('base64url')}`;
        sent += 1;
        const sender = members[group]?.[position];
        if (!sender) continue;
        sends.push(
          sender.send(id, `message ${sent}`).then(
            () => void acknowledged.set(id, group * MEMBERS + position),
            () => undefined,
          ),
        );
      }
      await sleep(Math.max(1, interval));
    }
    for (const timer of timers) clearTimeout(timer);
    await Promise.all(sends);
    // Everyone back, caught up, and a moment for the last deliveries.
    for (const member of away) member.connect();
    await Promise.all(all.map((member) => member.ready()));
    await sleep(3000);
    const delivered = deliveriesOf(members, acknowledged);
    return {
      sent,
      acknowledged: acknowledged.size,
      delivered,
      duplicates: all.reduce((sum, member) => sum + member.duplicates, 0),
      reorders: all.reduce((sum, member) => sum + member.reorders, 0),
      replays: all.flatMap((member) => member.replays),
    };
  } finally {
    for (const member of members.flat()) member.close();
    await running.stop();
  }
}

if (PIN) pinSelf(1);
printSettings({
  ...machine(),
  settings: `BENCH_GROUPS=${GROUPS} BENCH_MEMBERS=${MEMBERS} BENCH_GROUP_RATE=${GROUP_RATE} BENCH_SECONDS=${SECONDS} BENCH_DROP_EVERY=${DROP_EVERY} BENCH_DROP_FOR=${DROP_FOR} BENCH_RUNS=${RUNS} pinned=${PIN}`,
  parley: 'one node, SQLite, durability full; clients are the SDK EventStream, resuming from their positions',
  ceiling: 'the bare ws broadcast server of B3: no log, a client away misses what was sent meanwhile',
});
console.log(`\n## B6 drops: ${GROUPS * MEMBERS} clients in ${GROUPS} groups, ${GROUP_RATE} msg/s per group for ${SECONDS} s, each socket closed every ~${DROP_EVERY} s for ${DROP_FOR} s\n`);
const rows: string[][] = [];
const outcome = new Map<string, { delivered: number; duplicates: number; reorders: number; replayP99: number }>();
for (const target of TARGETS) {
  const runs: Figures[] = [];
  for (let run = 0; run < RUNS; run += 1) {
    runs.push(await measure(target));
    const last = runs.at(-1);
    console.error(`${target} run ${run + 1}: ${JSON.stringify({ ...last, replays: last?.replays.length })}`);
  }
  const expected = (run: Figures) => run.acknowledged * (MEMBERS - 1);
  const replayP99 = runs.map((run) => summarize(run.replays).p99);
  rows.push([
    target,
    String(runs.reduce((sum, run) => sum + run.acknowledged, 0)),
    `${format(Math.min(...runs.map((run) => (100 * run.delivered) / Math.max(1, expected(run)))), 2)}%`,
    String(runs.reduce((sum, run) => sum + run.duplicates, 0)),
    String(runs.reduce((sum, run) => sum + run.reorders, 0)),
    target === 'parley' ? formatSpread(replayP99) : '—',
  ]);
  outcome.set(target, {
    delivered: Math.min(...runs.map((run) => (100 * run.delivered) / Math.max(1, expected(run)))),
    duplicates: runs.reduce((sum, run) => sum + run.duplicates, 0),
    reorders: runs.reduce((sum, run) => sum + run.reorders, 0),
    replayP99: spread(replayP99).median,
  });
}
printTable(['server', 'acknowledged', 'delivered (least run)', 'duplicates', 'reorders', 'replay p99 ms'], rows);
const parley = outcome.get('parley');
const ceiling = outcome.get('ceiling');
if (parley) {
  report([
    {
      bench: 'B6',
      measure: `drops (${SECONDS} s): delivered, duplicates, reorders, replay p99`,
      parley: `${format(parley.delivered, 2)}%, ${parley.duplicates}, ${parley.reorders}, ${format(parley.replayP99, 0)} ms`,
      baseline: ceiling ? `ceiling ${format(ceiling.delivered, 2)}% delivered (it keeps no log)` : '—',
      target: '100%, 0, 0, ≤ 2,000 ms',
      met: parley.delivered === 100 && parley.duplicates === 0 && parley.reorders === 0 && parley.replayP99 <= 2000,
      value: parley.delivered,
    },
  ]);
}
process.exit(0);
