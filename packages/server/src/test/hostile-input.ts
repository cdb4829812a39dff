import { collectionBoundOf, definitionOf, type SchemaDefinition } from '@parley/protocol';
import fc from 'fast-check';
import type { z } from 'zod';

/**
 * Values for a request schema, derived from its zod definition: mostly valid-ish (the right
 * shape, real ids from `pool`), mutated at every level into what a hostile caller sends —
 * strings at and far past their bound, unicode edge cases, wrong types, deep nesting, huge and
 * NaN-ish numbers, prototype keys. Used by the route fuzz test.
 */

function checkValue(definition: SchemaDefinition, check: string): number | undefined {
  for (const entry of definition.checks ?? []) {
    const found = entry._zod.def;
    if (found.check === check) return found.maximum ?? found.minimum ?? found.value;
  }
  return undefined;
}

/** Real values for fields and parameters of these names: ids of the world the requests act on. */
export type Pool = Partial<Record<string, readonly unknown[]>>;

/** Pieces a hostile string is made of. */
const PIECES = [
  '\u0000', '\ud800', '\udc00', '\udbff\udfff', '\u200f', '\u202e', '\u2066', '\u200d', '\ufeff', '\ufffd', '\uffff',
  '👩\u200d👩\u200d👧\u200d👦', '🏳️\u200d🌈', '👍🏽', '1\ufe0f\u20e3', '🇫🇷', 'e\u0301\u0301\u0301', '\u0915\u094d\u0937',
  'İ', 'ß', 'ﬃ', '\u1100\u1161\u11a8', '𝕏', '\r\n', '\t', ' ', '%00', '%', '../', '\\', '"', "'", '<script>',
  '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'NaN', 'Infinity', '-Infinity', '-0', '1e309',
  '0x1F', '9007199254740993', 'null', 'true', 'undefined', '[]', '{}', '@assistant', '@everyone', '`@x`', 'a',
];

const hostileString: fc.Arbitrary<string> = fc
  .array(fc.constantFrom(...PIECES), { minLength: 1, maxLength: 8 })
  .map((pieces) => pieces.join(''));

/** Numbers at the edges: JSON has no NaN or Infinity, so those arrive as strings or null. */
const hostileNumber: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(0, -0, -1, 1, 0.5, -0.5, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 3e9, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 1e308, -1e308, 5e-324, 1e21),
  fc.constantFrom('NaN', 'Infinity', '1e309', '-0', '0x10', '1_000', ' 1', '1 ', '', '١٢', '2147483648', '3000000000'),
  fc.double(),
  fc.integer(),
);

/** Something of the wrong kind, or the right kind far too large or too deep. */
export const wrongValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1e308, '', 'x', [], {}, [null], { __proto__: null }),
  hostileString,
  fc.integer({ min: 1, max: 1_000 }).map((depth) => JSON.parse('['.repeat(depth) + ']'.repeat(depth)) as unknown),
  fc.integer({ min: 1, max: 1_000 }).map((depth) => {
    let value: Record<string, unknown> = {};
    for (let level = 0; level < depth; level += 1) value = { a: value, b: level };
    return value;
  }),
  fc.integer({ min: 100, max: 5_000 }).map((length) => Array.from({ length }, () => 0)),
  fc.constantFrom(JSON.parse('{"__proto__":{"admin":true}}') as unknown, JSON.parse('{"constructor":{"prototype":{"x":1}}}') as unknown),
);

/** A string for a field bounded to `max`: at the bound, just past it, far past it, or made of edge cases. */
function stringFor(definition: SchemaDefinition, key: string | undefined, pool: Pool, limit: number): fc.Arbitrary<string> {
  const max = Math.min(checkValue(definition, 'max_length') ?? 64, limit);
  const real = key !== undefined ? pool[key] : undefined;
  const choices: Array<fc.WeightedArbitrary<string>> = [
    { weight: 3, arbitrary: fc.string({ minLength: 1, maxLength: Math.min(max, 24) }) },
    { weight: 3, arbitrary: hostileString },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: Math.min(max, 16) }) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.constantFrom(max, max + 1, max * 2, max * 10, max * 1000), fc.constantFrom('a', '😀', 'e\u0301', '\u0000', ' '))
        .map(([length, unit]) => unit.repeat(Math.max(1, Math.ceil(Math.min(length, limit) / unit.length)))),
    },
  ];
  if (real && real.length > 0) choices.push({ weight: 8, arbitrary: fc.constantFrom(...real.map(String)) });
  return fc.oneof(...choices);
}

/**
 * Arbitrary values for `schema`. `key` is the field's name, used to pick real values from the
 * pool; `limit` caps string lengths (a URL cannot carry what a body can); `depth` stops recursion.
 */
export function valuesFor(schema: z.ZodType, options: { pool: Pool; key?: string; limit?: number; depth?: number }): fc.Arbitrary<unknown> {
  const { pool, key } = options;
  const limit = options.limit ?? 2_000_000;
  const depth = options.depth ?? 0;
  const definition = definitionOf(schema);
  const inner = (child: z.ZodType, childKey = key) => valuesFor(child, { pool, limit, depth: depth + 1, ...(childKey !== undefined ? { key: childKey } : {}) });
  const shaped = ((): fc.Arbitrary<unknown> => {
    switch (definition.type) {
      case 'optional':
      case 'default':
      case 'prefault':
      case 'nullable':
      case 'readonly':
      case 'catch':
      case 'nonoptional':
        return fc.oneof({ weight: 4, arbitrary: inner(definition.innerType!) }, { weight: 1, arbitrary: fc.constantFrom(undefined, null) });
      case 'string':
        return stringFor(definition, key, pool, limit);
      case 'number':
      case 'int': {
        const real = key !== undefined ? pool[key] : undefined;
        const min = checkValue(definition, 'greater_than') ?? 0;
        return fc.oneof(
          { weight: 3, arbitrary: fc.integer({ min: Math.max(-1, Math.floor(min) - 1), max: Math.max(10, Math.floor(min) + 1000) }) },
          { weight: 2, arbitrary: hostileNumber },
          ...(real && real.length > 0 ? [{ weight: 3, arbitrary: fc.constantFrom(...real) }] : []),
        );
      }
      case 'boolean':
        return fc.oneof(fc.boolean(), fc.constantFrom('true', 0, 1));
      case 'literal':
      case 'enum': {
        const values = definition.values ?? Object.values(definition.entries ?? {});
        return fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...values) }, { weight: 1, arbitrary: hostileString });
      }
      case 'object': {
        const shape = definition.shape ?? {};
        const record: Record<string, fc.Arbitrary<unknown>> = {};
        for (const [name, child] of Object.entries(shape)) record[name] = inner(child, name);
        const keys = Object.keys(shape);
        return fc
          .tuple(
            fc.record(record),
            keys.length > 0 ? fc.option(fc.constantFrom(...keys), { freq: 3 }) : fc.constant(null),
            fc.option(fc.dictionary(fc.constantFrom('__proto__', 'constructor', 'prototype', 'extra', 'toString', '$where'), wrongValue, { maxKeys: 2 }), { freq: 4 }),
          )
          .map(([value, dropped, extra]) => {
            const result: Record<string, unknown> = {};
            for (const [name, field] of Object.entries(value)) if (name !== dropped) result[name] = field;
            // Defined as own properties, so `__proto__` is a key on the wire, not a prototype here.
            for (const [name, field] of Object.entries(extra ?? {})) Object.defineProperty(result, name, { value: field, enumerable: true });
            return result;
          });
      }
      case 'union':
        return fc.oneof(...(definition.options ?? []).map((option) => inner(option)));
      case 'pipe': {
        const bound = collectionBoundOf(schema);
        const out = definitionOf(definition.out!);
        if (bound !== undefined && out.type === 'array') {
          const item = inner(out.element!);
          return fc.oneof(
            { weight: 4, arbitrary: fc.array(item, { maxLength: Math.min(bound, 5) }) },
            { weight: 1, arbitrary: fc.array(item, { minLength: bound, maxLength: bound + 1 }) },
            { weight: 1, arbitrary: fc.constantFrom(bound + 1, bound * 100).map((length) => Array.from({ length }, () => 'x')) },
          );
        }
        if (bound !== undefined && out.type === 'record') {
          const entry = fc.tuple(inner(out.keyType!), inner(out.valueType!));
          return fc.oneof(
            { weight: 4, arbitrary: fc.array(entry, { maxLength: 5 }).map((entries) => Object.fromEntries(entries.map(([name, value]) => [String(name), value]))) },
            { weight: 1, arbitrary: fc.constantFrom(bound + 1, bound * 5).map((count) => Object.fromEntries(Array.from({ length: count }, (_, index) => [`c${index}`, index]))) },
          );
        }
        return inner(definition.out!);
      }
      default:
        return wrongValue;
    }
  })();
  // Deep down, fewer mutations: the shape has to survive long enough to reach the inner checks.
  return fc.oneof({ weight: depth === 0 ? 6 : 12, arbitrary: shaped }, { weight: 1, arbitrary: wrongValue });
}

/**
 * Percent-encodes a path segment or query value, lone surrogates included (as the WTF-8 bytes a
 * careless client sends), which `encodeURIComponent` refuses to encode.
 */
export function encodeHostile(value: string): string {
  let encoded = '';
  for (let index = 0; index < value.length; index += 1) {
    const unit = value.charCodeAt(index);
    const next = value.charCodeAt(index + 1);
    if (unit >= 0xd800 && unit <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      encoded += encodeURIComponent(value.slice(index, index + 2));
      index += 1;
    } else if (unit >= 0xd800 && unit <= 0xdfff) {
      encoded += `%${(0xe0 | (unit >> 12)).toString(16)}%${(0x80 | ((unit >> 6) & 0x3f)).toString(16)}%${(0x80 | (unit & 0x3f)).toString(16)}`.toUpperCase();
    } else {
      encoded += encodeURIComponent(value[index]!);
    }
  }
  return encoded;
}
