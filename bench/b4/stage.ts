import { monotonicMs, type Receipts, TOKEN_PATTERN } from './wire.js';

/** Tokens seen at one point of their way inside Parley's process, with the time. */
export class Stage {
  key: number[] = [];
  index: number[] = [];
  at: number[] = [];

  add(text: string): void {
    const at = monotonicMs();
    for (const match of text.matchAll(TOKEN_PATTERN)) {
      this.key.push(Number(match[1]));
      this.index.push(Number(match[2]));
      this.at.push(at);
    }
  }

  take(): Receipts {
    const receipts = { receiver: new Int32Array(this.at.length), key: Int32Array.from(this.key), index: Int32Array.from(this.index), at: Float64Array.from(this.at) };
    this.key = [];
    this.index = [];
    this.at = [];
    return receipts;
  }
}
