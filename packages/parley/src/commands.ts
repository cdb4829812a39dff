import module from 'node:module';
import type { loadModels } from '@parley/assistant';
import { createLogger, type HeldPort, type Logger, setAdministrator, startServer } from '@parley/server';
import type { AssistantThread } from './assistant-thread.js';
import { configFromEnv, logLevelFromEnv, webDirFromEnv } from './config.js';
import { webSite } from './web-site.js';

function describeModels(models: ReturnType<typeof loadModels>): string {
  if (models.status !== 'configured') return 'no model provider configured (set PARLEY_MODEL_PROVIDER and PARLEY_MODEL)';
  const { fast, strong } = models.models;
  return fast === strong ? `${models.models.provider} ${strong.modelId}` : `${models.models.provider} ${fast.modelId} (fast) and ${strong.modelId} (strong)`;
}

function onSignals(logger: Logger, stop: () => Promise<void>): void {
  const handle = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'could not shut down cleanly');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => handle('SIGINT'));
  process.once('SIGTERM', () => handle('SIGTERM'));
}

/**
 * `npm start`: one Parley node, with the assistant in the same process, on its own thread,
 * unless PARLEY_ASSISTANT=off.
 */
async function serve(held?: HeldPort): Promise<void> {
  const config = configFromEnv();
  const logger = createLogger(logLevelFromEnv());
  // The assistant's modules (its providers, the SDK) are loaded only when it runs here: a node
  // restarted after a crash listens sooner, and its clients wait on that. When it runs, its settings
  // are read here as well as in the thread: a wrong one stops the start with its message.
  const inProcess = process.env.PARLEY_ASSISTANT !== 'off';
  const models = inProcess ? (await import('@parley/assistant')).loadModels(process.env) : undefined;
  const webDir = webDirFromEnv(process.env);
  let widgetOrigin: string | null = null;
  const site = webDir ? webSite(webDir, { widgetOrigin: () => widgetOrigin }) : undefined;
  const server = await startServer({ config, logger, ...(site ? { site } : {}), ...(held ? { held } : {}) });
  widgetOrigin = server.widgetOrigin;
  // Written now rather than at exit: a node killed with -9 never exits, and its restart is when
  // the cache counts most.
  module.flushCompileCache();
  const storage = config.databaseUrl ? 'PostgreSQL' : `SQLite in ${config.dataDir}`;
  console.log(`Parley is running at ${server.url} (${storage})`);
  if (server.widgetOrigin) console.log(`Widgets of apps: ${server.widgetOrigin}`);
  if (!site) console.log(`Web client: no build found in ${webDir ?? 'packages/web/dist'} (run npm run build, or set PARLEY_WEB_DIR)`);
  let assistant: AssistantThread | undefined;
  if (models) {
    const { startAssistantThread } = await import('./assistant-thread.js');
    assistant = await startAssistantThread({
      baseUrl: server.url,
      token: server.assistant.token,
      logger,
      onError: (error) => logger.error({ err: error }, 'the assistant thread failed'),
    });
    console.log(`Assistant: ${describeModels(models)}`);
  }
  onSignals(logger, async () => {
    await assistant?.close();
    await server.close();
  });
}

/** `npm run assistant`: the assistant alone, as its own process, against a running server. */
async function assistantOnly(): Promise<void> {
  const baseUrl = process.env.PARLEY_SERVER_URL;
  const token = process.env.PARLEY_ASSISTANT_TOKEN;
  if (!baseUrl || !token) {
    throw new Error('set PARLEY_SERVER_URL and PARLEY_ASSISTANT_TOKEN (the token is in the server\'s data folder, file assistant-token)');
  }
  const logger = createLogger(logLevelFromEnv());
  const { AssistantRuntime, catchUpMinutesOf, loadModels } = await import('@parley/assistant');
  const models = loadModels(process.env);
  const assistant = new AssistantRuntime({ baseUrl, token, models, logger, catchUpMinutes: catchUpMinutesOf(process.env) });
  await assistant.start();
  console.log(`Assistant connected to ${baseUrl}: ${describeModels(models)}`);
  onSignals(logger, () => assistant.close());
}

/** `parley admin add|remove USERNAME`: makes an account an administrator of this installation, or no longer one. */
async function admin(): Promise<void> {
  const [action, username] = process.argv.slice(3);
  if ((action !== 'add' && action !== 'remove') || !username) throw new Error('usage: parley admin add|remove USERNAME');
  const found = await setAdministrator(configFromEnv(), username, action === 'add');
  if (!found) throw new Error(`no person with the username ${username}`);
  console.log(action === 'add' ? `@${username} is an administrator` : `@${username} is no longer an administrator (unless PARLEY_ADMINS names them)`);
}

/** Runs `parley COMMAND`; `serve` takes over the port main.ts already listens on. */
export async function run(command: string, held?: HeldPort): Promise<void> {
  if (command === 'serve') return serve(held);
  if (command === 'assistant') return assistantOnly();
  if (command === 'admin') return admin();
  console.error(`unknown command "${command}": use "serve" (the default), "assistant" or "admin add|remove USERNAME"`);
  process.exit(2);
}
