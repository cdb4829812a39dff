import { execFileSync } from 'node:child_process';
import os from 'node:os';

/** What every table states: when, on what, with which Node. */
export function machine(): Record<string, string> {
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
    // These machines are shared: the load says how quiet this one was.
    'load average (1, 5, 15 min) at start': os.loadavg().map((value) => value.toFixed(2)).join(', '),
  };
}

export function percentile(sorted: ArrayLike<number>, fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

/** Latency summary from every sample (not a sampled histogram): milliseconds. */
export interface Latency {
  count: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

export function summarize(samples: ArrayLike<number>): Latency {
  const sorted = Float64Array.from(samples).sort();
  return {
    count: sorted.length,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    p999: percentile(sorted, 0.999),
    max: sorted[sorted.length - 1] ?? Number.NaN,
  };
}

/** Median, min and max over runs, as the tables print them. */
export function spread(values: number[]): { median: number; min: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? (sorted[middle] ?? Number.NaN) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
  return { median, min: sorted[0] ?? Number.NaN, max: sorted[sorted.length - 1] ?? Number.NaN };
}

export function format(value: number, digits = 1): string {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-US');
  return value.toFixed(digits);
}

export function formatSpread(values: number[], digits = 1): string {
  const { median, min, max } = spread(values);
  return `${format(median, digits)} (${format(min, digits)}–${format(max, digits)})`;
}

export function printTable(headers: string[], rows: string[][]): void {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(' | ')} |`;
  console.log(line(headers));
  console.log(`|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`);
  for (const row of rows) console.log(line(row));
}

export function printSettings(settings: Record<string, string>): void {
  for (const [key, value] of Object.entries(settings)) console.log(`- ${key}: ${value}`);
}

/**
 * Sends at a fixed rate and measures each operation from the time it was scheduled, not from
 * when it was issued: a generator that falls behind (the event loop was busy, a commit blocked it)
 * counts the wait in the latency instead of hiding it (coordinated omission).
 */
export async function fixedRate(options: {
  rate: number;
  seconds: number;
  operation: (index: number) => Promise<unknown>;
}): Promise<{ latencies: Float64Array; seconds: number; failures: number }> {
  const total = Math.round(options.rate * options.seconds);
  const latencies = new Float64Array(total);
  const interval = 1000 / options.rate;
  const start = performance.now() + 5;
  let issued = 0;
  let settled = 0;
  let failures = 0;
  let last = start;
  await new Promise<void>((resolve) => {
    const settle = (index: number, scheduled: number, ok: boolean) => {
      const now = performance.now();
      latencies[index] = now - scheduled;
      if (!ok) failures += 1;
      last = Math.max(last, now);
      settled += 1;
      if (settled === total) resolve();
    };
    const tick = () => {
      const now = performance.now();
      while (issued < total && start + issued * interval <= now) {
        const index = issued;
        const scheduled = start + index * interval;
        issued += 1;
        options.operation(index).then(
          () => settle(index, scheduled, true),
          () => settle(index, scheduled, false),
        );
      }
      if (issued < total) setTimeout(tick, Math.max(0, Math.min(1, start + issued * interval - performance.now())));
    };
    setTimeout(tick, 5);
  });
  return { latencies, seconds: (last - start) / 1000, failures };
}

/** Keeps `concurrency` operations in flight for `seconds`: the most the system can do. */
export async function maxThroughput(options: {
  concurrency: number;
  seconds: number;
  operation: (index: number) => Promise<unknown>;
}): Promise<{ latencies: Float64Array; seconds: number; completed: number; failures: number }> {
  const latencies: number[] = [];
  const start = performance.now();
  const end = start + options.seconds * 1000;
  let next = 0;
  let failures = 0;
  const worker = async () => {
    while (performance.now() < end) {
      const index = next;
      next += 1;
      const began = performance.now();
      try {
        await options.operation(index);
      } catch {
        failures += 1;
      }
      latencies.push(performance.now() - began);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return { latencies: Float64Array.from(latencies), seconds: (performance.now() - start) / 1000, completed: latencies.length, failures };
}
