import { describe, expect, it } from 'vitest';
import { en } from './en.js';
import { fr } from './fr.js';

function keys(value: unknown, prefix = ''): string[] {
  if (typeof value !== 'object' || value === null) return [prefix];
  return Object.entries(value).flatMap(([key, inner]) => keys(inner, prefix ? `${prefix}.${key}` : key));
}
// French has a `many` plural form that English lacks.
const base = (key: string) => key.replace(/_many$/, '_other');

describe('dictionaries', () => {
  it('[WB20] French says everything English says, and nothing else', () => {
    expect([...new Set(keys(fr).map(base))].sort()).toEqual(keys(en).sort());
  });
});
