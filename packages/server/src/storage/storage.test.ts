import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { storageContract } from './storage-contract.js';

storageContract({
  database: 'sqlite',
  async create() {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-storage-'));
    return {
      // The durable setting: each commit is fsynced, as a production server runs.
      options: { kind: 'sqlite', file: path.join(directory, 'parley.sqlite'), durability: 'full' },
      async [Symbol.asyncDispose]() {
        fs.rmSync(directory, { recursive: true, force: true });
      },
    };
  },
});
