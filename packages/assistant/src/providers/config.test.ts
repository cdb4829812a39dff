import { describe, expect, it } from 'vitest';
import { MODEL_ENV_VARIABLES, ModelsConfigError, NOT_CONFIGURED_REPLY, readModelsConfig } from './config.js';
import { loadModels } from './models.js';

function configOf(environment: Record<string, string>) {
  const result = readModelsConfig(environment);
  if (result.status !== 'configured') throw new Error('expected a configuration');
  return result.config;
}

function issuesOf(environment: Record<string, string>): { variable: string; message: string }[] {
  try {
    readModelsConfig(environment);
  } catch (error) {
    if (error instanceof ModelsConfigError) return [...error.issues];
    throw error;
  }
  throw new Error('expected a ModelsConfigError');
}

describe('model configuration', () => {
  it('with nothing configured, loadModels answers not-configured with a reply naming the variables', () => {
    const result = loadModels({ PATH: '/usr/bin', HOME: '/home/parley' });
    expect(result.status).toBe('not-configured');
    if (result.status !== 'not-configured') return;
    expect(result.error).toEqual({ code: 'not_configured', message: 'No AI model is configured on this server.', retryable: false });
    expect(result.reply).toBe(NOT_CONFIGURED_REPLY);
    for (const name of ['PARLEY_MODEL_PROVIDER', 'PARLEY_MODEL', 'PARLEY_MODEL_API_KEY', 'PARLEY_MODEL_BASE_URL', 'OPENAI_API_KEY', 'ANTHROPIC_API_KEY', 'PARLEY_FAST_MODEL']) {
      expect(result.reply).toContain(`\`${name}\``);
    }
    for (const provider of ['openai', 'anthropic', 'ollama', 'openai-compatible']) expect(result.reply).toContain(`\`${provider}\``);
  });

  it('does not pick a provider from a stray OPENAI_API_KEY, and treats empty values as unset', () => {
    expect(readModelsConfig({ OPENAI_API_KEY: 'sk-x', ANTHROPIC_API_KEY: 'a' })).toEqual({ status: 'not-configured' });
    expect(readModelsConfig({ PARLEY_MODEL_PROVIDER: '', PARLEY_MODEL: '  ', PARLEY_MODEL_CHOICE: '' })).toEqual({ status: 'not-configured' });
  });

  it('reads an OpenAI configuration with defaults, the key falling back to OPENAI_API_KEY', () => {
    expect(configOf({ PARLEY_MODEL_PROVIDER: 'openai', PARLEY_MODEL: 'gpt-4.1', OPENAI_API_KEY: 'sk-fallback' })).toEqual({
      provider: 'openai',
      strongModel: 'gpt-4.1',
      fastModel: 'gpt-4.1',
      baseUrl: undefined,
      apiKey: 'sk-fallback',
      choice: 'auto',
      timeoutMs: 60_000,
      maxRetries: 2,
    });
    const explicit = configOf({
      PARLEY_MODEL_PROVIDER: 'openai',
      PARLEY_MODEL: 'gpt-4.1',
      PARLEY_FAST_MODEL: 'gpt-4.1-mini',
      PARLEY_MODEL_API_KEY: 'sk-parley',
      OPENAI_API_KEY: 'sk-fallback',
      PARLEY_MODEL_BASE_URL: 'https://gateway.example.com/v1/',
      PARLEY_MODEL_CHOICE: 'strong',
      PARLEY_MODEL_TIMEOUT_MS: '15000',
      PARLEY_MODEL_MAX_RETRIES: '0',
    });
    expect(explicit).toMatchObject({ fastModel: 'gpt-4.1-mini', apiKey: 'sk-parley', baseUrl: 'https://gateway.example.com/v1', choice: 'strong', timeoutMs: 15_000, maxRetries: 0 });
  });

  it('takes the Anthropic key from ANTHROPIC_API_KEY, never from OPENAI_API_KEY', () => {
    expect(configOf({ PARLEY_MODEL_PROVIDER: 'anthropic', PARLEY_MODEL: 'claude-sonnet-4-5', ANTHROPIC_API_KEY: 'ak', OPENAI_API_KEY: 'sk' }).apiKey).toBe('ak');
    expect(issuesOf({ PARLEY_MODEL_PROVIDER: 'anthropic', PARLEY_MODEL: 'claude-sonnet-4-5', OPENAI_API_KEY: 'sk' })).toEqual([
      { variable: 'PARLEY_MODEL_API_KEY', message: 'is required for anthropic (or set ANTHROPIC_API_KEY)' },
    ]);
  });

  it('gives Ollama its default local address and needs no key', () => {
    expect(configOf({ PARLEY_MODEL_PROVIDER: 'ollama', PARLEY_MODEL: 'llama3.1:8b' })).toMatchObject({ baseUrl: 'http://127.0.0.1:11434', apiKey: undefined });
    expect(configOf({ PARLEY_MODEL_PROVIDER: 'ollama', PARLEY_MODEL: 'llama3.1:8b', PARLEY_MODEL_BASE_URL: 'http://gpu-box:11434/' }).baseUrl).toBe('http://gpu-box:11434');
  });

  it('needs a base URL for openai-compatible, and no key', () => {
    expect(configOf({ PARLEY_MODEL_PROVIDER: 'openai-compatible', PARLEY_MODEL: 'qwen', PARLEY_MODEL_BASE_URL: 'http://127.0.0.1:8000/v1' })).toMatchObject({
      baseUrl: 'http://127.0.0.1:8000/v1',
      apiKey: undefined,
    });
    expect(issuesOf({ PARLEY_MODEL_PROVIDER: 'openai-compatible', PARLEY_MODEL: 'qwen' })).toEqual([
      { variable: 'PARLEY_MODEL_BASE_URL', message: 'is required for openai-compatible (such as http://127.0.0.1:8000/v1)' },
    ]);
  });

  it('names each wrong variable, all at once', () => {
    const issues = issuesOf({
      PARLEY_MODEL_PROVIDER: 'gemini',
      PARLEY_MODEL_BASE_URL: 'localhost:8000',
      PARLEY_MODEL_CHOICE: 'smart',
      PARLEY_MODEL_TIMEOUT_MS: 'soon',
      PARLEY_MODEL_MAX_RETRIES: '-1',
    });
    expect(issues.map((issue) => issue.variable).sort()).toEqual(['PARLEY_MODEL_BASE_URL', 'PARLEY_MODEL_CHOICE', 'PARLEY_MODEL_MAX_RETRIES', 'PARLEY_MODEL_PROVIDER', 'PARLEY_MODEL_TIMEOUT_MS']);
    expect(issues.find((issue) => issue.variable === 'PARLEY_MODEL_PROVIDER')?.message).toBe('must be one of openai, anthropic, ollama, openai-compatible');
    expect(issues.find((issue) => issue.variable === 'PARLEY_MODEL_BASE_URL')?.message).toBe('must be an http:// or https:// URL');
    expect(issues.find((issue) => issue.variable === 'PARLEY_MODEL_TIMEOUT_MS')?.message).toBe('must be a whole number');
    expect(issues.find((issue) => issue.variable === 'PARLEY_MODEL_MAX_RETRIES')?.message).toBe('must be at least 0');
  });

  it('rejects a timeout out of range, a missing model, and variables set without a provider', () => {
    expect(issuesOf({ PARLEY_MODEL_PROVIDER: 'ollama', PARLEY_MODEL: 'x', PARLEY_MODEL_TIMEOUT_MS: '10' })).toEqual([{ variable: 'PARLEY_MODEL_TIMEOUT_MS', message: 'must be at least 100' }]);
    expect(issuesOf({ PARLEY_MODEL_PROVIDER: 'ollama' })).toEqual([{ variable: 'PARLEY_MODEL', message: 'is required when PARLEY_MODEL_PROVIDER is set (the model id to use with ollama)' }]);
    expect(issuesOf({ PARLEY_MODEL: 'gpt-4.1', PARLEY_MODEL_API_KEY: 'sk' })).toEqual([
      { variable: 'PARLEY_MODEL_PROVIDER', message: 'is required when PARLEY_MODEL, PARLEY_MODEL_API_KEY are set' },
    ]);
    expect(issuesOf({ PARLEY_MODEL_PROVIDER: 'openai', PARLEY_MODEL: 'gpt-4.1' })).toEqual([{ variable: 'PARLEY_MODEL_API_KEY', message: 'is required for openai (or set OPENAI_API_KEY)' }]);
  });

  it('the error message lists every problem, for the startup log', () => {
    expect(() => readModelsConfig({ PARLEY_MODEL_PROVIDER: 'openai-compatible' })).toThrow(
      'Invalid model configuration:\n  PARLEY_MODEL: is required when PARLEY_MODEL_PROVIDER is set (the model id to use with openai-compatible)\n  PARLEY_MODEL_BASE_URL: is required for openai-compatible (such as http://127.0.0.1:8000/v1)',
    );
  });

  it('documents every variable it reads in the comment block of config.ts', async () => {
    const { readFile } = await import('node:fs/promises');
    const source = await readFile(new URL('./config.ts', import.meta.url), 'utf8');
    const header = source.slice(0, source.indexOf('*/'));
    for (const name of MODEL_ENV_VARIABLES) expect(header).toContain(name);
  });
});

describe('models', () => {
  const base = { PARLEY_MODEL_PROVIDER: 'ollama', PARLEY_MODEL: 'qwen2.5:32b', PARLEY_FAST_MODEL: 'qwen2.5:3b' };
  const modelsOf = (environment: Record<string, string>) => {
    const result = loadModels(environment);
    if (result.status !== 'configured') throw new Error('expected models');
    return result.models;
  };

  it('auto picks the strong model for hard turns and the fast one for light turns', () => {
    const models = modelsOf(base);
    expect(models.strong.modelId).toBe('qwen2.5:32b');
    expect(models.fast.modelId).toBe('qwen2.5:3b');
    expect(models.pick({ hard: true })).toBe(models.strong);
    expect(models.pick({ hard: false })).toBe(models.fast);
  });

  it('fast and strong choices pin one model', () => {
    const fast = modelsOf({ ...base, PARLEY_MODEL_CHOICE: 'fast' });
    expect(fast.pick({ hard: true })).toBe(fast.fast);
    const strong = modelsOf({ ...base, PARLEY_MODEL_CHOICE: 'strong' });
    expect(strong.pick({ hard: false })).toBe(strong.strong);
  });

  it('without a fast model, both are the strong one', () => {
    const models = modelsOf({ PARLEY_MODEL_PROVIDER: 'ollama', PARLEY_MODEL: 'llama3.1:8b' });
    expect(models.fast).toBe(models.strong);
    expect(models.pick({ hard: false }).modelId).toBe('llama3.1:8b');
  });
});
