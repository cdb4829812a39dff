// The fixture app over stdio, run as a child process by tests (see `stdioFixtureCommand`).
import fs from 'node:fs';
import { StdioServerTransport } from '@modelcontextprotocol/server/stdio';
import { buildFixtureServer } from './fixture-apps.js';

// `--env-report FILE`: writes the names of the variables this process was given, for a test to read [AP2].
const report = process.argv.indexOf('--env-report');
const reportFile = report === -1 ? undefined : process.argv[report + 1];
if (reportFile) fs.writeFileSync(reportFile, JSON.stringify(Object.keys(process.env).sort()));

const server = buildFixtureServer({ drifted: false, calls: [], cancelled: [] });
await server.connect(new StdioServerTransport());
