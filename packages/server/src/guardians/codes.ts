import crypto from 'node:crypto';
import { sha256 } from '../ids/ids.js';

/** No 0/O, 1/I/L: a code read aloud or copied from a phone is typed right the first time. */
export const CODE_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
export const CODE_LENGTH = 8;
/** How long a code stays valid. */
export const CODE_TTL_MS = 60 * 60 * 1000;
/** Wrong codes a pending link survives; the last one voids it. See SPEC.md [GL5]. */
export const MAX_CODE_ATTEMPTS = 5;

/** A fresh one-time code: 31^8 (about 8.5e11) possibilities, and only five tries per link. */
export function newLinkCode(): string {
  let code = '';
  for (let index = 0; index < CODE_LENGTH; index += 1) code += CODE_ALPHABET[crypto.randomInt(CODE_ALPHABET.length)];
  return code;
}

/** What is stored and compared: the code's hash, ignoring case, spaces and dashes as typed. */
export function hashLinkCode(typed: string): string {
  return sha256(typed.toUpperCase().replace(/[\s-]/g, ''));
}

export function sameHash(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && crypto.timingSafeEqual(left, right);
}
