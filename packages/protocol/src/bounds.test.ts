import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { maxJsonBytes, unboundedParts } from './bounds.js';
import { boundedArray, boundedRecord, EmojiSchema, IdSchema, textSchema, toStorableText } from './common.js';
import { RecordDecisionRequestSchema } from './assistant.js';
import { type RouteDefinition, routes } from './routes.js';
import { ClientFrameSchema } from './socket.js';

/** Every schema a caller's input passes through: each route's params, query and body, and the client's socket frames. */
function requestSchemas(): Array<[string, z.ZodType]> {
  const found: Array<[string, z.ZodType]> = [['ClientFrameSchema', ClientFrameSchema]];
  for (const [name, route] of Object.entries(routes) as [string, RouteDefinition][]) {
    for (const part of ['params', 'query', 'body'] as const) {
      const schema = route[part];
      if (schema) found.push([`${name}.${part}`, schema]);
    }
  }
  return found;
}

describe('request bounds', () => {
  it('[PB1] bounds every string, array and record of every request schema with a cheap check that aborts first', () => {
    const unbounded = requestSchemas().flatMap(([name, schema]) => unboundedParts(schema, name));
    expect(unbounded).toEqual([]);
  });

  it('[PB1] the walk finds an unbounded string, array or record, and one bounded too late', () => {
    const schema = z.object({
      loose: z.string(),
      lateBound: z.string().regex(/x/).max(10),
      list: z.array(IdSchema).max(3),
      map: z.record(z.string(), z.number()),
      anything: z.unknown(),
      count: z.number().int(),
      fine: textSchema({ max: 10 }),
      fineList: boundedArray(IdSchema, 3),
      fineMap: boundedRecord(IdSchema, z.number().max(9), 3),
    });
    expect(unboundedParts(schema).map((part) => part.split(':')[0])).toEqual(['$.loose', '$.lateBound', '$.list', '$.map', '$.anything', '$.count']);
  });

  it('[PB1] a string past its bound is refused before any costlier check runs', () => {
    let calls = 0;
    const schema = textSchema({ max: 5 }).refine(() => {
      calls += 1;
      return true;
    });
    expect(schema.safeParse('x'.repeat(1_000_000)).success).toBe(false);
    expect(calls).toBe(0);
  });

  it('[PB1] an array or record past its bound is refused before any item is parsed', () => {
    const poisoned = z.string().transform(() => {
      throw new Error('an item was parsed');
    });
    const items = Array.from({ length: 100_001 }, () => 'x');
    expect(boundedArray(poisoned, 100).safeParse(items).error?.issues[0]?.message).toBe('must hold at most 100 items');
    const entries = Object.fromEntries(items.map((_, index) => [`key${index}`, 'x']));
    expect(boundedRecord(IdSchema, poisoned, 100).safeParse(entries).error?.issues[0]?.message).toBe('must hold at most 100 entries');
  });

  it('[PB1] regression: an emoji of a million characters in a decision is refused by its length alone, not with the heap', () => {
    const body = { messageId: 'x', action: 'react', reason: 'x', emoji: '😀'.repeat(500_000) };
    const result = RecordDecisionRequestSchema.safeParse(body);
    expect(result.error?.issues[0]).toMatchObject({ path: ['emoji'], code: 'too_big' });
    // The bound stopped it: the emoji's own (costlier) check never ran, so it is the only issue.
    // (A timing bound here failed on a loaded machine; what matters is which checks ran.)
    expect(result.error?.issues.filter((issue) => issue.path[0] === 'emoji')).toHaveLength(1);
    expect(EmojiSchema.safeParse('👍🏽').success).toBe(true);
    expect(EmojiSchema.safeParse('👍👍').success).toBe(false);
  });

  it('[PB2] text refuses U+0000 and lone surrogates, keeps pairs and everything else', () => {
    const text = textSchema({ max: 100 });
    for (const bad of ['a\u0000b', '\ud800', 'x\udc00', '\udc00\ud800', 'end\ud83d']) {
      expect(text.safeParse(bad).error?.issues[0]?.message, JSON.stringify(bad)).toBe('must not contain U+0000 or an unpaired surrogate');
    }
    for (const good of ['', 'plain', '😀', '\u200f\u202eRTL', '👩\u200d👩\u200d👧', '\u0001\t\n', '\uffff']) {
      expect(text.safeParse(good).success, JSON.stringify(good)).toBe(true);
      expect(toStorableText(good)).toBe(good);
    }
    expect(toStorableText('a\u0000b\ud800c😀\udc00')).toBe('a\ufffdb\ufffdc😀\ufffd');
  });

  it('[PB3] knows the largest valid JSON of each body: a body limit per route', () => {
    expect(maxJsonBytes(z.object({ a: textSchema({ max: 10 }), b: z.boolean() }))).toBe(79); // 78, and a comma to spare
    for (const [name, schema] of requestSchemas()) {
      // The socket's frames have their own limits (64 KiB, 1 MiB for hello) [EL10].
      if (name === 'ClientFrameSchema') continue;
      const bytes = maxJsonBytes(schema);
      expect(bytes, name).toBeGreaterThan(0);
      expect(bytes, name).toBeLessThan(2 * 1024 * 1024);
    }
  });
});
