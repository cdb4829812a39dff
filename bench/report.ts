import fs from 'node:fs';

/**
 * One headline figure of a benchmark, for the suite's single table (bench/suite.ts): what Parley
 * did, what the same run's baseline did, the target of ../shared/BENCHMARKS.md and whether it was
 * met. Each benchmark still prints its own full table; this is the line that sums it up.
 */
export interface Headline {
  bench: string;
  measure: string;
  parley: string;
  baseline: string;
  target: string;
  /** Null where the figure has no target (it is context for another one). */
  met: boolean | null;
  /** The figure as a number, for the suite to use (B2's maximum sets B3's rates). */
  value?: number;
}

/**
 * Appends the headlines to the file `BENCH_REPORT` names, one JSON object per line, when the suite
 * runs the benchmark; run alone, a benchmark prints them after its table instead.
 */
export function report(headlines: Headline[]): void {
  const file = process.env.BENCH_REPORT;
  if (file) {
    fs.appendFileSync(file, headlines.map((headline) => `${JSON.stringify(headline)}\n`).join(''));
    return;
  }
  console.log('');
  for (const headline of headlines) {
    const verdict = headline.met === null ? '' : headline.met ? ' · met' : ' · NOT met';
    console.log(`${headline.bench} ${headline.measure}: ${headline.parley} (baseline ${headline.baseline}; target ${headline.target})${verdict}`);
  }
}

export function readReport(file: string): Headline[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Headline);
}
