import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { configFromEnv, logLevelFromEnv } from './config.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));

function sourceFiles(folder: string): string[] {
  return fs.readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(folder, entry.name);
    if (entry.isDirectory()) return entry.name === 'test' ? [] : sourceFiles(file);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [file] : [];
  });
}

describe('configuration', () => {
  it('reads the limits on unsent uploads, and names a variable whose value is wrong', () => {
    const config = configFromEnv({ PARLEY_UNSENT_UPLOAD_FILES: '7', PARLEY_UNSENT_UPLOAD_BYTES: '1000', PARLEY_UNSENT_UPLOAD_HOURS: '2' });
    expect(config.unsentUploads).toEqual({ files: 7, bytes: 1000, keepHours: 2 });
    expect(configFromEnv({}).unsentUploads).toEqual({ files: 50, bytes: 200 * 1024 * 1024, keepHours: 24 });
    expect(() => configFromEnv({ PARLEY_UNSENT_UPLOAD_HOURS: '0' })).toThrow(/PARLEY_UNSENT_UPLOAD_HOURS must be an integer ≥ 1, got "0"/);
    expect(() => configFromEnv({ PARLEY_UNSENT_UPLOAD_FILES: 'many' })).toThrow(/PARLEY_UNSENT_UPLOAD_FILES/);
  });

  it('reads PARLEY_LOG_LEVEL, info by default, and names it when its value is not a level', () => {
    expect(logLevelFromEnv({})).toBe('info');
    expect(logLevelFromEnv({ PARLEY_LOG_LEVEL: 'debug' })).toBe('debug');
    expect(logLevelFromEnv({ PARLEY_LOG_LEVEL: 'silent' })).toBe('silent');
    expect(() => logLevelFromEnv({ PARLEY_LOG_LEVEL: 'loud' })).toThrow(/PARLEY_LOG_LEVEL must be one of trace, debug, info, warn, error, fatal, silent, got "loud"/);
  });

  it('every environment variable the code reads is documented in README.md', () => {
    const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
    const read = new Set<string>();
    for (const folder of ['packages/parley/src', 'packages/assistant/src']) {
      for (const file of sourceFiles(path.join(root, folder))) {
        const text = fs.readFileSync(file, 'utf8');
        for (const match of text.matchAll(/env\.([A-Z][A-Z0-9_]+)|'((?:PARLEY_|DATABASE_)[A-Z0-9_]+|PORT)'/g)) read.add(match[1] ?? match[2] ?? '');
      }
    }
    expect(read.size).toBeGreaterThan(20);
    expect([...read].filter((name) => !readme.includes(`\`${name}\``))).toEqual([]);
  });
});
