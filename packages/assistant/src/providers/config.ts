/**
 * Model configuration, read from environment variables once at startup.
 *
 *   PARLEY_MODEL_PROVIDER     openai | anthropic | ollama | openai-compatible. Unset (with no other
 *                             PARLEY_MODEL_* variable) means "not configured": the server runs and the
 *                             assistant answers mentions with how to configure a provider.
 *   PARLEY_MODEL              The strong model id, such as `gpt-4.1`, `claude-sonnet-4-5`, `llama3.1:8b`.
 *                             Required once a provider is set.
 *   PARLEY_FAST_MODEL         Optional fast model id for light turns and turn-taking decisions.
 *                             Defaults to PARLEY_MODEL.
 *   PARLEY_MODEL_BASE_URL     Where the provider's API is.
 *                               openai:            optional, default https://api.openai.com/v1 (a proxy or Azure-style gateway)
 *                               anthropic:         optional, default https://api.anthropic.com/v1
 *                               ollama:            optional, default http://127.0.0.1:11434 (the server root; `/api` is added)
 *                               openai-compatible: required, the URL that ends before `/chat/completions`,
 *                                                  such as http://127.0.0.1:8000/v1 (vLLM), http://127.0.0.1:8080/v1
 *                                                  (llama.cpp server) or http://127.0.0.1:1234/v1 (LM Studio)
 *   PARLEY_MODEL_API_KEY      The provider's API key. Falls back to OPENAI_API_KEY (openai) or
 *                             ANTHROPIC_API_KEY (anthropic). Required for those two; optional for
 *                             openai-compatible; unused by ollama.
 *   PARLEY_MODEL_CHOICE       auto | fast | strong (default auto). `auto` uses the fast model for light
 *                             turns and the strong one for hard turns (see model-choice.ts).
 *   PARLEY_MODEL_TIMEOUT_MS   Longest wait, in milliseconds, for the provider's first token, between two
 *                             tokens, and for a whole turn-taking decision. Default 60000.
 *   PARLEY_MODEL_MAX_RETRIES  Retries of a failed call (rate limit, 5xx, dropped connection) before any
 *                             token was streamed. Default 2; 0 turns retries off.
 *
 * A variable that is set but wrong (unknown provider, bad URL, missing model) stops startup with
 * an error naming it, rather than leaving the assistant silently broken.
 */
import { z } from 'zod';

export const ProviderName = {
  openai: 'openai',
  anthropic: 'anthropic',
  ollama: 'ollama',
  openaiCompatible: 'openai-compatible',
} as const;
export type ProviderName = (typeof ProviderName)[keyof typeof ProviderName];

export const ModelChoice = { auto: 'auto', fast: 'fast', strong: 'strong' } as const;
export type ModelChoice = (typeof ModelChoice)[keyof typeof ModelChoice];

export const DEFAULT_OLLAMA_BASE_URL = 'http://127.0.0.1:11434';
export const DEFAULT_TIMEOUT_MS = 60_000;
export const DEFAULT_MAX_RETRIES = 2;

export interface ModelsConfig {
  provider: ProviderName;
  strongModel: string;
  fastModel: string;
  /** Undefined means the provider's own default. */
  baseUrl: string | undefined;
  apiKey: string | undefined;
  choice: ModelChoice;
  timeoutMs: number;
  maxRetries: number;
}

export type ModelsConfigResult = { status: 'configured'; config: ModelsConfig } | { status: 'not-configured' };

/** The env variables read here, so that "nothing configured" can be checked in one place. */
export const MODEL_ENV_VARIABLES = [
  'PARLEY_MODEL_PROVIDER',
  'PARLEY_MODEL',
  'PARLEY_FAST_MODEL',
  'PARLEY_MODEL_BASE_URL',
  'PARLEY_MODEL_API_KEY',
  'PARLEY_MODEL_CHOICE',
  'PARLEY_MODEL_TIMEOUT_MS',
  'PARLEY_MODEL_MAX_RETRIES',
] as const;

/** What the assistant says when mentioned on a server with no model configured. */
export const NOT_CONFIGURED_REPLY = [
  "I can't answer yet: no AI model is configured on this server.",
  'An administrator can set one with environment variables and restart Parley:',
  '- `PARLEY_MODEL_PROVIDER`: `openai`, `anthropic`, `ollama` or `openai-compatible` (vLLM, llama.cpp server, LM Studio)',
  '- `PARLEY_MODEL`: the model id, such as `gpt-4.1`, `claude-sonnet-4-5` or `llama3.1:8b`',
  '- `PARLEY_MODEL_API_KEY` (or `OPENAI_API_KEY` / `ANTHROPIC_API_KEY`): the API key, for OpenAI and Anthropic',
  '- `PARLEY_MODEL_BASE_URL`: the server address, for Ollama (default http://127.0.0.1:11434) and OpenAI-compatible servers',
  'Optional: `PARLEY_FAST_MODEL` (a fast model for light turns), `PARLEY_MODEL_CHOICE` (`auto`, `fast` or `strong`), `PARLEY_MODEL_TIMEOUT_MS`.',
].join('\n');

/** The visible error of a turn that could not run for lack of a model. */
export const NOT_CONFIGURED_ERROR = {
  code: 'not_configured',
  message: 'No AI model is configured on this server.',
  retryable: false,
} as const;

/** A set but invalid configuration: startup stops with every problem listed. */
export class ModelsConfigError extends Error {
  override readonly name = 'ModelsConfigError';
  readonly issues: readonly { variable: string; message: string }[];

  constructor(issues: readonly { variable: string; message: string }[]) {
    super(`Invalid model configuration:\n${issues.map((issue) => `  ${issue.variable}: ${issue.message}`).join('\n')}`);
    this.issues = issues;
  }
}

type Environment = Readonly<Record<string, string | undefined>>;

/** Empty strings count as unset: `PARLEY_MODEL=` in an env file means "no value". */
const optionalText = z.preprocess((value) => (typeof value === 'string' && value.trim() === '' ? undefined : typeof value === 'string' ? value.trim() : value), z.string().optional());

const integer = (minimum: number, maximum: number, fallback: number) =>
  z.preprocess(
    (value) => (typeof value === 'string' && value.trim() === '' ? undefined : value),
    z.coerce
      .number({ error: 'must be a whole number' })
      .int('must be a whole number')
      .min(minimum, `must be at least ${minimum}`)
      .max(maximum, `must be at most ${maximum}`)
      .default(fallback),
  );

const httpUrl = z
  .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
  .transform((url) => url.replace(/\/+$/, ''));

const EnvironmentSchema = z.object({
  PARLEY_MODEL_PROVIDER: optionalText.pipe(
    z.enum(['openai', 'anthropic', 'ollama', 'openai-compatible'], { error: 'must be one of openai, anthropic, ollama, openai-compatible' }).optional(),
  ),
  PARLEY_MODEL: optionalText.pipe(z.string().max(200, 'must be at most 200 characters').optional()),
  PARLEY_FAST_MODEL: optionalText.pipe(z.string().max(200, 'must be at most 200 characters').optional()),
  PARLEY_MODEL_BASE_URL: optionalText.pipe(httpUrl.optional()),
  PARLEY_MODEL_API_KEY: optionalText,
  OPENAI_API_KEY: optionalText,
  ANTHROPIC_API_KEY: optionalText,
  PARLEY_MODEL_CHOICE: optionalText.pipe(z.enum(['auto', 'fast', 'strong'], { error: 'must be one of auto, fast, strong' }).default('auto')),
  PARLEY_MODEL_TIMEOUT_MS: integer(100, 600_000, DEFAULT_TIMEOUT_MS),
  PARLEY_MODEL_MAX_RETRIES: integer(0, 10, DEFAULT_MAX_RETRIES),
});

/**
 * Reads the model configuration. Returns `not-configured` when no PARLEY_MODEL_* variable is
 * set; throws ModelsConfigError when something is set but wrong.
 */
export function readModelsConfig(environment: Environment = process.env): ModelsConfigResult {
  const parsed = EnvironmentSchema.safeParse(environment);
  if (!parsed.success) {
    throw new ModelsConfigError(parsed.error.issues.map((issue) => ({ variable: String(issue.path[0] ?? 'environment'), message: issue.message })));
  }
  const values = parsed.data;
  const provider = values.PARLEY_MODEL_PROVIDER;
  if (provider === undefined) {
    const stray = MODEL_ENV_VARIABLES.filter((name) => name !== 'PARLEY_MODEL_PROVIDER' && (environment[name] ?? '').trim() !== '');
    if (stray.length === 0) return { status: 'not-configured' };
    throw new ModelsConfigError([{ variable: 'PARLEY_MODEL_PROVIDER', message: `is required when ${stray.join(', ')} ${stray.length === 1 ? 'is' : 'are'} set` }]);
  }

  const issues: { variable: string; message: string }[] = [];
  if (values.PARLEY_MODEL === undefined) issues.push({ variable: 'PARLEY_MODEL', message: `is required when PARLEY_MODEL_PROVIDER is set (the model id to use with ${provider})` });
  const apiKey =
    values.PARLEY_MODEL_API_KEY ?? (provider === 'openai' ? values.OPENAI_API_KEY : provider === 'anthropic' ? values.ANTHROPIC_API_KEY : undefined);
  if (apiKey === undefined && provider === 'openai') issues.push({ variable: 'PARLEY_MODEL_API_KEY', message: 'is required for openai (or set OPENAI_API_KEY)' });
  if (apiKey === undefined && provider === 'anthropic') issues.push({ variable: 'PARLEY_MODEL_API_KEY', message: 'is required for anthropic (or set ANTHROPIC_API_KEY)' });
  if (values.PARLEY_MODEL_BASE_URL === undefined && provider === 'openai-compatible') {
    issues.push({ variable: 'PARLEY_MODEL_BASE_URL', message: 'is required for openai-compatible (such as http://127.0.0.1:8000/v1)' });
  }
  if (issues.length > 0 || values.PARLEY_MODEL === undefined) throw new ModelsConfigError(issues);

  return {
    status: 'configured',
    config: {
      provider,
      strongModel: values.PARLEY_MODEL,
      fastModel: values.PARLEY_FAST_MODEL ?? values.PARLEY_MODEL,
      baseUrl: provider === 'ollama' ? (values.PARLEY_MODEL_BASE_URL ?? DEFAULT_OLLAMA_BASE_URL) : values.PARLEY_MODEL_BASE_URL,
      apiKey,
      choice: values.PARLEY_MODEL_CHOICE,
      timeoutMs: values.PARLEY_MODEL_TIMEOUT_MS,
      maxRetries: values.PARLEY_MODEL_MAX_RETRIES,
    },
  };
}
