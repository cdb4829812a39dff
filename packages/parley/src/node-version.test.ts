import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MINIMUM_NODE, nodeVersionProblem } from './node-version.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));

describe('the Node version', () => {
  it('accepts 22.19 and later, refuses older ones with what to install', () => {
    for (const version of ['22.19.0', '22.23.3', '24.0.0', '24.21.0', '26.10.0', '27.0.0']) expect(nodeVersionProblem(version)).toBeUndefined();
    for (const version of ['20.20.2', '22.12.0', '22.18.9', '21.7.3', '18.20.0']) {
      expect(nodeVersionProblem(version)).toBe(`Parley needs Node.js 22.19 or later (22, 24 and 26 are tested); this is Node.js ${version}.`);
    }
    expect(nodeVersionProblem()).toBeUndefined();
  });

  it('the minimum is the one every package.json states in engines', () => {
    const manifests = ['package.json', ...['protocol', 'sdk', 'server', 'assistant', 'parley'].map((name) => `packages/${name}/package.json`), 'bench/package.json'];
    for (const manifest of manifests) {
      const engines = (JSON.parse(fs.readFileSync(`${root}/${manifest}`, 'utf8')) as { engines?: { node?: string } }).engines;
      if (manifest === 'package.json') expect(engines?.node, manifest).toBe(`>=${MINIMUM_NODE.major}.${MINIMUM_NODE.minor}`);
      else if (engines?.node !== undefined) expect(engines.node, manifest).toBe(`>=${MINIMUM_NODE.major}.${MINIMUM_NODE.minor}`);
    }
  });
});
