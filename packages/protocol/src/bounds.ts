import type { z } from 'zod';
import { collectionBoundOf } from './common.js';

/**
 * Reads the bounds of a request schema [PB1]: which strings, arrays and records could be sent
 * unbounded (a test fails the run on any), and how many bytes a valid value can take as JSON
 * (the HTTP layer's body limit per route). Walks zod's definitions, so a new schema is covered
 * the day it is written.
 */

/** The part of a zod schema's internal definition the bounds walker and the fuzz generator read. */
export interface SchemaDefinition {
  type: string;
  checks?: ReadonlyArray<{ _zod: { def: { check: string; abort?: boolean; maximum?: number; minimum?: number; value?: number } } }>;
  innerType?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  catchall?: z.ZodType;
  options?: readonly z.ZodType[];
  in?: z.ZodType;
  out?: z.ZodType;
  element?: z.ZodType;
  keyType?: z.ZodType;
  valueType?: z.ZodType;
  values?: readonly unknown[];
  entries?: Record<string, unknown>;
}

/** A schema's internal definition (zod 4's `_zod.def`; see docs/decisions on request bounds). */
export function definitionOf(schema: z.ZodType): SchemaDefinition {
  return (schema as unknown as { _zod: { def: SchemaDefinition } })._zod.def;
}

/** The bound of a string: its first check must be an aborting `max`, so nothing costlier runs past it. */
function stringBound(definition: SchemaDefinition): number | undefined {
  const first = definition.checks?.[0]?._zod.def;
  return first?.check === 'max_length' && first.abort === true ? first.maximum : undefined;
}

const WRAPPERS = new Set(['optional', 'nullable', 'default', 'prefault', 'readonly', 'nonoptional', 'catch']);
const SCALARS = new Set(['boolean', 'null', 'undefined', 'literal', 'enum', 'never', 'nan']);

/**
 * Where a request schema accepts a string, array or record without a cheap bound checked first,
 * or anything it cannot bound (`unknown`, `any`, …), as dotted paths. Empty when all is bounded.
 */
export function unboundedParts(schema: z.ZodType, path = '$'): string[] {
  const definition = definitionOf(schema);
  if (WRAPPERS.has(definition.type)) return unboundedParts(definition.innerType!, path);
  if (SCALARS.has(definition.type)) return [];
  switch (definition.type) {
    case 'string':
      return stringBound(definition) === undefined ? [`${path}: a string without an aborting max() as its first check`] : [];
    case 'number':
    case 'int':
    case 'bigint':
      // Numbers reach SQL as 32-bit integers or are compared with them: each has a maximum.
      return (definition.checks ?? []).some((check) => check._zod.def.check === 'less_than') ? [] : [`${path}: a number without max()`];
    case 'object': {
      const found = Object.entries(definition.shape ?? {}).flatMap(([key, value]) => unboundedParts(value, `${path}.${key}`));
      if (definition.catchall && definitionOf(definition.catchall).type !== 'never') found.push(`${path}: accepts any other key`);
      return found;
    }
    case 'union':
      return (definition.options ?? []).flatMap((option, index) => unboundedParts(option, `${path}|${index}`));
    case 'pipe': {
      const bound = collectionBoundOf(schema);
      const out = definitionOf(definition.out!);
      if (bound !== undefined) {
        if (out.type === 'array') return unboundedParts(out.element!, `${path}[]`);
        return [...unboundedParts(out.keyType!, `${path}{key}`), ...unboundedParts(out.valueType!, `${path}{}`)];
      }
      const input = definitionOf(definition.in!);
      return [...(input.type === 'transform' ? [] : unboundedParts(definition.in!, path)), ...unboundedParts(definition.out!, path)];
    }
    case 'array':
    case 'record':
      return [`${path}: an ${definition.type} not counted before its items are parsed (use boundedArray or boundedRecord)`];
    default:
      return [`${path}: a ${definition.type} cannot be bounded`];
  }
}

/** JSON of a number is at most this long (`-1.7976931348623157e+308`). */
const NUMBER_BYTES = 24;
/** A code point takes at most 6 bytes in JSON: `\u001f`, while UTF-8 needs 4 at most. */
const BYTES_PER_CHARACTER = 6;

/**
 * The most bytes a valid value of a request schema takes as compact JSON. Throws on a schema
 * with an unbounded part (see `unboundedParts`).
 */
export function maxJsonBytes(schema: z.ZodType): number {
  const definition = definitionOf(schema);
  if (WRAPPERS.has(definition.type)) return maxJsonBytes(definition.innerType!);
  switch (definition.type) {
    case 'number':
    case 'int':
    case 'bigint':
    case 'nan':
      return NUMBER_BYTES;
    case 'boolean':
      return 5;
    case 'null':
    case 'undefined':
    case 'never':
      return 4;
    case 'literal':
    case 'enum': {
      const values = definition.values ?? Object.values(definition.entries ?? {});
      return Math.max(4, ...values.map((value) => JSON.stringify(value)?.length ?? 4));
    }
    case 'string': {
      const bound = stringBound(definition);
      if (bound === undefined) throw new Error('maxJsonBytes: unbounded string');
      return 2 + BYTES_PER_CHARACTER * bound;
    }
    case 'object':
      return Object.entries(definition.shape ?? {}).reduce((total, [key, value]) => total + JSON.stringify(key).length + 2 + maxJsonBytes(value), 2);
    case 'union':
      return Math.max(...(definition.options ?? []).map(maxJsonBytes));
    case 'pipe': {
      const bound = collectionBoundOf(schema);
      const out = definitionOf(definition.out!);
      if (bound !== undefined) {
        if (out.type === 'array') return 2 + bound * (maxJsonBytes(out.element!) + 1);
        return 2 + bound * (maxJsonBytes(out.keyType!) + maxJsonBytes(out.valueType!) + 2);
      }
      return maxJsonBytes(definition.out!);
    }
    default:
      throw new Error(`maxJsonBytes: a ${definition.type} cannot be bounded`);
  }
}
