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
  web: { source: ['protocol', 'sdk'], tests: ['server', 'parley', 'apps'] },
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
  return [...text.matchAll(/(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^import\s+['"]([^'"]+)['"]/gm)].map(
    (match) => match[1] ?? match[2] ?? match[3] ?? '',
  );
}

/** The file a relative import names, among `files`: `./x.js` is `./x.ts` (or `.tsx`) in the sources. */
function resolveRelative(from: string, specifier: string, files: ReadonlySet<string>): string | undefined {
  const target = path.resolve(path.dirname(from), specifier);
  const stem = target.replace(/\.(js|jsx|ts|tsx)$/, '');
  return [`${stem}.ts`, `${stem}.tsx`, path.join(target, 'index.ts'), path.join(target, 'index.tsx')].find((file) => files.has(file));
}

/** Each import cycle among the files, as the chain of files that closes it (type-only imports count: they tie the files as much). */
function importCycles(files: string[]): string[][] {
  const known = new Set(files);
  const edges = new Map(
    files.map((file) => [
      file,
      importsOf(fs.readFileSync(file, 'utf8'))
        .filter((specifier) => specifier.startsWith('.'))
        .flatMap((specifier) => resolveRelative(file, specifier, known) ?? []),
    ]),
  );
  const cycles: string[][] = [];
  const done = new Set<string>();
  const chain: string[] = [];
  const onPath = new Set<string>();
  const visit = (file: string) => {
    chain.push(file);
    onPath.add(file);
    for (const next of edges.get(file) ?? []) {
      if (onPath.has(next)) cycles.push([...chain.slice(chain.indexOf(next)), next]);
      else if (!done.has(next)) visit(next);
    }
    chain.pop();
    onPath.delete(file);
    done.add(file);
  };
  for (const file of files) if (!done.has(file)) visit(file);
  return cycles;
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

    it(`${name} has no import cycle among its own files`, () => {
      const packageRoot = path.join(root, 'packages', name);
      const files = [...sourceFiles(path.join(packageRoot, 'src')), ...sourceFiles(path.join(packageRoot, 'e2e'))];
      const cycles = importCycles(files).map((cycle) => cycle.map((file) => path.relative(packageRoot, file)).join(' → '));
      expect(cycles).toEqual([]);
    });
  }

  it('server route files only bind: none is imported but by app.ts (messages/SPEC.md [MW1])', () => {
    const server = path.join(root, 'packages', 'server', 'src');
    const files = sourceFiles(server).filter((file) => !isTest(file));
    const known = new Set(files);
    const isRoutes = (file: string) => /(^|-)routes\.ts$/.test(path.basename(file));
    const reaching = files.flatMap((file) =>
      file === path.join(server, 'app.ts')
        ? []
        : importsOf(fs.readFileSync(file, 'utf8'))
            .filter((specifier) => specifier.startsWith('.'))
            .flatMap((specifier) => resolveRelative(file, specifier, known) ?? [])
            .filter(isRoutes)
            .map((target) => `${path.relative(server, file)} imports ${path.relative(server, target)}`),
    );
    expect(reaching).toEqual([]);
  });
});
