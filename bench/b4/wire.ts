/**
 * What B4's three processes say to each other over IPC (serialization 'advanced', so typed arrays
 * travel as they are), and the one clock they share.
 */

/**
 * Milliseconds on the machine's monotonic clock (`CLOCK_MONOTONIC`, which `process.hrtime` reads
 * on Linux): the same clock in every process, so a time stamped by the provider and one stamped
 * by a member subtract without any offset.
 */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** A token names its stream and its place in it: `t<key>_<index> `. */
export function tokenText(key: number, index: number): string {
  return `t${key}_${index} `;
}

export const TOKEN_PATTERN = /t(\d+)_(\d+) /g;

export type ProviderRequest =
  | { type: 'queue'; keys: number[]; tokens: number; intervalMs: number }
  | { type: 'stamps' }
  | { type: 'close' };

export type ProviderReply =
  | { type: 'ready'; url: string }
  | { type: 'queued'; pending: number }
  /** `sent[row * tokens + index]`: when token `index` of stream `keys[row]` was written (NaN: never). */
  | { type: 'stamps'; keys: number[]; tokens: number; sent: Float64Array; pending: number; requests: number };

export interface SetupRequest {
  url: string;
  /** Groups whose assistant answers a mention each round. */
  answerGroups: number;
  /** Groups that only exchange human messages (the assistant set to `mentions`, so it stays silent). */
  otherGroups: number;
  membersPerGroup: number;
  /** The bare relay's socket URL (the ceiling): each answer-group member also holds a socket to it. */
  ceilingUrl: string;
}

export type MembersRequest =
  | ({ type: 'setup' } & SetupRequest)
  /** `spreadMs`: the answers start one after another over this long (0: all at the same moment). */
  | { type: 'relay-round'; round: number; spreadMs: number }
  | { type: 'ceiling-round'; round: number }
  | { type: 'direct-round'; providerUrl: string; streams: number; client: 'raw' | 'sdk'; spreadMs: number }
  | { type: 'traffic-start'; perSecond: number }
  | { type: 'traffic-stop' }
  | { type: 'close' };

/**
 * Tokens as received: parallel arrays, one entry per token per receiver. `receiver` is a member
 * socket (relay) or a direct stream (baseline).
 */
export interface Receipts {
  receiver: Int32Array;
  key: Int32Array;
  index: Int32Array;
  at: Float64Array;
}

export interface RoundReply {
  type: 'round';
  receipts: Receipts;
  /** Per member (relay) or stream (baseline): from its group's mention (or the stream's start) to its first delta; NaN when none came. */
  mentionToFirst: Float64Array;
  /** Turn ends received, and those not `completed`. */
  ends: number;
  failedEnds: number;
  expectedEnds: number;
  cpuMs: number;
}

export interface TrafficReply {
  type: 'traffic';
  /** One entry per delivery to a member other than the sender: the send's scheduled time and the receive time. */
  scheduledAt: Float64Array;
  receivedAt: Float64Array;
  sent: number;
  failed: number;
  /** Messages scheduled, and deliveries expected (sent × other members). */
  scheduled: number;
  expectedDeliveries: number;
  /** How late the generator got round to sending, at worst (ms). */
  worstSendLag: number;
  cpuMs: number;
}

export type MembersReply =
  | { type: 'listening' }
  | { type: 'ready'; users: number; sockets: number; seconds: number; assistantName: string }
  | RoundReply
  | TrafficReply
  | { type: 'error'; message: string };
