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
