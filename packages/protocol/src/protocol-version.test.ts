import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { buildOpenApiDocument } from './openapi.js';
import { ClientFrameSchema, ServerFrameSchema } from './socket.js';
import { PROTOCOL_VERSION } from './version.js';

/**
 * The fingerprint of every wire schema at each protocol version. When a schema changes, this
 * test fails: bump PROTOCOL_VERSION (with a dated line in version.ts) and add the new fingerprint.
 */
const FINGERPRINTS: Record<number, string> = {
  1: '38e0517c1072653b',
  2: '25ffb5980c92a971',
  3: '3bb2cffb46538bed',
  4: 'f9162763d9dd9b4c',
  5: '9650e94fdc04d262',
  6: '80f01b0142f589a3',
  7: '392b6207f6265475',
  8: 'cf5b9da39b268d82',
  9: '0f68169207d1bfd6',
  10: '9b925e30735c8551',
  11: 'dcfc90976e491a94',
};

function fingerprint(): string {
  const wire = {
    http: buildOpenApiDocument(),
    clientFrames: z.toJSONSchema(ClientFrameSchema, { io: 'input', unrepresentable: 'any' }),
    serverFrames: z.toJSONSchema(ServerFrameSchema, { io: 'output', unrepresentable: 'any' }),
  };
  return crypto.createHash('sha256').update(JSON.stringify(wire)).digest('hex').slice(0, 16);
}

describe('protocol version', () => {
  it('changes whenever a wire schema changes', () => {
    expect(fingerprint(), `the protocol changed: bump PROTOCOL_VERSION and record ${fingerprint()}`).toBe(
      FINGERPRINTS[PROTOCOL_VERSION],
    );
  });
});
