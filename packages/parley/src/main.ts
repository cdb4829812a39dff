import { startServer } from '@parley/server';
import { configFromEnv } from './config.js';

/** `npm start`: one Parley node with its configuration from the environment. */
async function main(): Promise<void> {
  const config = configFromEnv();
  const server = await startServer({ config });
  const storage = config.databaseUrl ? 'PostgreSQL' : `SQLite in ${config.dataDir}`;
  console.log(`Parley is running at ${server.url} (${storage})`);
  const stop = (signal: string) => {
    console.log(`${signal}: shutting down`);
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
