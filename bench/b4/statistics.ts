import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { spread } from '../measure.js';
import type { Receipts } from './wire.js';

// The shared measuring helpers of every bench; B4 only formats with more digits.
export { type Latency, percentile, printTable, spread, summarize } from '../measure.js';

export function format(value: number, digits = 2): string {
  if (!Number.isFinite(value)) return String(value);
  return value.toFixed(digits);
}

/** `median (min–max)` over the runs. */
export function formatSpread(values: number[], digits = 2): string {
  const { median, min, max } = spread(values);
  return `${format(median, digits)} (${format(min, digits)}–${format(max, digits)})`;
}

export function machine(): { date: string; machine: string; node: string } {
  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown';
  let cores = String(os.availableParallelism());
  try {
    cores = execFileSync('nproc', { encoding: 'utf8' }).trim();
  } catch {
    // nproc is missing on some systems: availableParallelism says the same.
  }
  return {
    date: new Date().toISOString(),
    machine: `${cores} cores (nproc), ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.platform()} ${os.release()}`,
    node: process.version,
  };
}

/** When each token of each stream was sent by the provider: key → send time per token index. */
export type SendTable = Map<number, Float64Array>;

export interface TokenTimes {
  /** Provider send → receive, every token at every receiver. */
  all: number[];
  /** The same for each stream's first token: time to first token added after the provider. */
  first: number[];
  /**
   * Inter-token jitter: for consecutive tokens at one receiver, how much the gap between their
   * arrivals differs from the gap between their sends, |Δlatency|. 0 when the path adds a constant.
   */
  jitter: number[];
  /** Tokens sent and never received by a receiver that got others of the stream, and receipts with no send stamp. */
  missing: number;
  unstamped: number;
  /** A few receipts with no send stamp, as `key:index`, to say which. */
  unstampedExamples: string[];
}

export function tokenTimes(sent: SendTable, receipts: Receipts): TokenTimes {
  const byReceiverStream = new Map<string, Float64Array>();
  const times: TokenTimes = { all: [], first: [], jitter: [], missing: 0, unstamped: 0, unstampedExamples: [] };
  for (let row = 0; row < receipts.at.length; row += 1) {
    const key = receipts.key[row] ?? -1;
    const index = receipts.index[row] ?? -1;
    const stamps = sent.get(key);
    const sentAt = stamps?.[index];
    if (stamps === undefined || sentAt === undefined || Number.isNaN(sentAt)) {
      times.unstamped += 1;
      if (times.unstampedExamples.length < 10) times.unstampedExamples.push(`${key}:${index}${stamps === undefined ? ' (no stream)' : ''}`);
      continue;
    }
    const latency = (receipts.at[row] ?? Number.NaN) - sentAt;
    times.all.push(latency);
    const id = `${receipts.receiver[row]}:${key}`;
    let latencies = byReceiverStream.get(id);
    if (!latencies) byReceiverStream.set(id, (latencies = new Float64Array(stamps.length).fill(Number.NaN)));
    latencies[index] = latency;
  }
  for (const latencies of byReceiverStream.values()) {
    const first = latencies[0] ?? Number.NaN;
    if (!Number.isNaN(first)) times.first.push(first);
    for (let index = 0; index < latencies.length; index += 1) {
      const current = latencies[index] ?? Number.NaN;
      if (Number.isNaN(current)) {
        times.missing += 1;
        continue;
      }
      const previous = latencies[index - 1] ?? Number.NaN;
      if (index > 0 && !Number.isNaN(previous)) times.jitter.push(Math.abs(current - previous));
    }
  }
  return times;
}
