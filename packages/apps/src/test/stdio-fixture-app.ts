// The fixture app over stdio, run as a child process by tests (see `stdioFixtureCommand`).
import { StdioServerTransport } from '@modelcontextprotocol/server/stdio';
import { buildFixtureServer } from './fixture-apps.js';

const server = buildFixtureServer({ drifted: false, calls: [], cancelled: [] });
await server.connect(new StdioServerTransport());
