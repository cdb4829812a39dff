/**
 * Refusals (issue 8, not a BENCHMARKS.md figure): the longest one refused request holds the event loop, in validation alone and
 * over HTTP, for the black-box case (a decision whose emoji is 100,000 or 1,000,000 characters)
 * as a person and as the bot. Run it on this tree and on an older one to compare
 * (packages/server/src/http/SPEC.md, [PB6]).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { routes } from '@parley/protocol';
import { startTestServer } from '@parley/server/test';
import { format, machine, spread } from './measure.js';

const RUNS = Number(process.env.B9_RUNS ?? 5);
const LENGTHS = [100_000, 1_000_000];
const UNITS = { 'a': 'a', '😀': '😀' } as const;

const body = (emoji: string) => ({ messageId: 'x', action: 'react', reason: 'x', emoji });

/** Milliseconds of each run: the first is cold (regexes compiled, code not yet optimised). */
function validation(length: number, unit: string): number[] {
  const times: number[] = [];
  for (let run = 0; run < RUNS; run += 1) {
    const value = body(unit.repeat(length / unit.length));
    const started = performance.now();
    routes.recordDecision.body.safeParse(value);
    times.push(performance.now() - started);
  }
  return times;
}

const runs = (times: number[]) => `${format(spread(times).median)} (max ${format(spread(times).max)})`;

console.log(JSON.stringify(machine()));
console.log(`| case | characters | validation, median of ${RUNS} (ms) |`);
for (const [label, unit] of Object.entries(UNITS)) {
  for (const length of LENGTHS) console.log(`| emoji of ${label} | ${length.toLocaleString('en-US')} | ${runs(validation(length, unit))} |`);
}

const server = await startTestServer();
const person = await server.user();
const histogram = monitorEventLoopDelay({ resolution: 1 });
histogram.enable();
console.log(`\n| caller | characters | status | longest event-loop block, median of ${RUNS} (ms) | answered in, median (ms) |`);
for (const [caller, token] of [['person', person.client.token!], ['bot', server.assistant.token]] as const) {
  for (const length of LENGTHS) {
    const blocks: number[] = [];
    const walls: number[] = [];
    let status = 0;
    for (let run = 0; run < RUNS; run += 1) {
      // Encoded before the clock starts: the client shares this event loop.
      const text = Buffer.from(JSON.stringify(body('😀'.repeat(length / 2))));
      histogram.reset();
      const started = performance.now();
      const response = await fetch(`${server.url}/api/conversations/not-a-conversation/assistant/decisions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: text,
      });
      await response.text();
      walls.push(performance.now() - started);
      blocks.push(histogram.max / 1e6);
      status = response.status;
    }
    console.log(`| ${caller} | ${length.toLocaleString('en-US')} | ${status} | ${runs(blocks)} | ${format(spread(walls).median)} |`);
  }
}
histogram.disable();
await server[Symbol.asyncDispose]();
