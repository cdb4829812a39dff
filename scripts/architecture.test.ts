import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The dependency direction of ARCHITECTURE.md, enforced: each package may import only the
 * packages listed for it (test files may also use what their tests need).
 */
const ALLOWED: Record<string, { source: string[]; tests: string[] }> = {
  protocol: { source: [], tests: [] },
  apps: { source: [], tests: [] },
  sdk: { source: ['protocol'], tests: ['server'] },
  server: { source: ['protocol', 'apps'], tests: ['sdk'] },
  assistant: { source: ['protocol', 'sdk'], tests: ['server', 'apps'] },
  web: { source: ['protocol', 'sdk'], tests: ['server', 'parley'] },
  parley: { source: ['protocol', 'apps', 'sdk', 'server', 'assistant', 'web'], tests: [] },
};

const root = path.resolve(import.meta.dirname, '..');

function sourceFiles(directory: string): string[] {
  if (!fs.existsSync(directory)) return [];
  return fs.readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(directory, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' || entry.name === 'dist' ? [] : sourceFiles(full);
    return /\.(ts|tsx)$/.test(entry.name) ? [full] : [];
  });
}

function importsOf(text: string): string[] {
  return [...text.matchAll(/(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map(
    (match) => match[1] ?? match[2] ?? '',
  );
}

const isTest = (file: string) => /\.test\.tsx?$/.test(file) || file.includes(`${path.sep}test${path.sep}`) || file.includes(`${path.sep}e2e${path.sep}`);

describe('architecture', () => {
  const packages = fs.readdirSync(path.join(root, 'packages')).filter((name) => fs.existsSync(path.join(root, 'packages', name, 'package.json')));

  it('knows every package', () => {
    for (const name of packages) expect(Object.keys(ALLOWED), `add ${name} to ALLOWED and ARCHITECTURE.md`).toContain(name);
  });

  const entriesOf = (name: string): string[] => {
    const manifest = path.join(root, 'packages', name, 'package.json');
    if (!fs.existsSync(manifest)) return [];
    return Object.keys((JSON.parse(fs.readFileSync(manifest, 'utf8')) as { exports?: Record<string, unknown> }).exports ?? {});
  };

  for (const name of packages) {
    it(`${name} imports only what the dependency graph allows`, () => {
      const violations: string[] = [];
      const rules = ALLOWED[name] ?? { source: [], tests: [] };
      const packageRoot = path.join(root, 'packages', name);
      for (const file of [...sourceFiles(path.join(packageRoot, 'src')), ...sourceFiles(path.join(packageRoot, 'e2e'))]) {
        const text = fs.readFileSync(file, 'utf8');
        const where = path.relative(root, file);
        if (/^export \*/m.test(text)) violations.push(`${where}: export * (name the exports)`);
        for (const specifier of importsOf(text)) {
          if (specifier.startsWith('.')) {
            const target = path.resolve(path.dirname(file), specifier);
            if (!target.startsWith(packageRoot + path.sep)) violations.push(`${where}: relative import leaves the package: ${specifier}`);
            continue;
          }
          const match = /^@parley\/([^/]+)(\/.*)?$/.exec(specifier);
          if (!match) continue;
          const [, target = '', subpath] = match;
          // A subpath is fine only as an entry the package declares (`/test`, `@parley/sdk/node`).
          if (subpath && !entriesOf(target).includes(`.${subpath}`)) violations.push(`${where}: reaches into ${specifier}`);
          const allowed = isTest(file) ? [...rules.source, ...rules.tests] : rules.source;
          if (target !== name && !allowed.includes(target)) violations.push(`${where}: ${name} must not import ${specifier}`);
        }
      }
      expect(violations).toEqual([]);
    });
  }
});
