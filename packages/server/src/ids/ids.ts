import crypto from 'node:crypto';

export function newId(): string {
  return crypto.randomUUID();
}

/** An unguessable secret: 32 random bytes, URL-safe. */
export function newSecret(): string {
  return crypto.randomBytes(32).toString('base64url');
}

export function sha256(value: string | Uint8Array): string {
  return crypto.createHash('sha256').update(value).digest('hex');
}

let lastTime = 0;
let sequence = 0;

/**
 * An id that sorts in the order this process made them (a millisecond timestamp, then a counter,
 * then randomness), for lists ordered by id: two made in the same millisecond still sort.
 */
export function newSortableId(): string {
  let time = Date.now();
  if (time <= lastTime) {
    time = lastTime;
    sequence += 1;
    if (sequence > 0xffff) {
      time += 1;
      sequence = 0;
    }
  } else {
    sequence = 0;
  }
  lastTime = time;
  return `${time.toString(16).padStart(12, '0')}${sequence.toString(16).padStart(4, '0')}${crypto.randomBytes(8).toString('hex')}`;
}
