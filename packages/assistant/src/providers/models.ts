import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAI } from '@ai-sdk/openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import type { LanguageModelV4 } from '@ai-sdk/provider';
import type { TurnError } from '@parley/protocol';
import { createOllama } from 'ollama-ai-provider-v2';
import { type ChatModel, createChatModel } from './chat-model.js';
import { type ModelChoice, type ModelsConfig, NOT_CONFIGURED_ERROR, NOT_CONFIGURED_REPLY, type ProviderName, readModelsConfig } from './config.js';
import { chooseModel } from './model-choice.js';
import { ollamaStreamGuard } from './ollama-stream-guard.js';

/** The configured models: a fast one for light turns and decisions, a strong one for hard turns. */
export interface Models {
  readonly provider: ProviderName;
  readonly choice: ModelChoice;
  readonly fast: ChatModel;
  readonly strong: ChatModel;
  /** The model for a turn under the configured choice (see model-choice.ts). */
  pick(turn: { hard: boolean }): ChatModel;
}

export type LoadModelsResult =
  | { status: 'configured'; models: Models; config: ModelsConfig }
  | {
      status: 'not-configured';
      /** What the assistant says when mentioned: how to configure a provider. */
      reply: string;
      /** The error state of a turn that could not run. */
      error: TurnError;
    };

export interface CreateModelsOptions {
  /** For tests: how long the first retry waits when the provider gives no delay. */
  retryDelayMs?: number;
}

/**
 * Reads the environment and builds the models. Nothing configured is a result, not an error:
 * the server still runs and the assistant answers with `reply`. A wrong value throws a
 * ModelsConfigError naming the variable.
 */
export function loadModels(environment: Readonly<Record<string, string | undefined>> = process.env, options: CreateModelsOptions = {}): LoadModelsResult {
  const result = readModelsConfig(environment);
  if (result.status === 'not-configured') return { status: 'not-configured', reply: NOT_CONFIGURED_REPLY, error: { ...NOT_CONFIGURED_ERROR } };
  return { status: 'configured', models: createModels(result.config, options), config: result.config };
}

export function createModels(config: ModelsConfig, options: CreateModelsOptions = {}): Models {
  const languageModel = languageModelFactory(config);
  const build = (modelId: string) =>
    createChatModel({
      provider: config.provider,
      modelId,
      languageModel: languageModel(modelId),
      timeoutMs: config.timeoutMs,
      maxRetries: config.maxRetries,
      ...(options.retryDelayMs === undefined ? {} : { retryDelayMs: options.retryDelayMs }),
    });
  const strong = build(config.strongModel);
  const fast = config.fastModel === config.strongModel ? strong : build(config.fastModel);
  return {
    provider: config.provider,
    choice: config.choice,
    fast,
    strong,
    pick: (turn) => (chooseModel(config.choice, turn) === 'strong' ? strong : fast),
  };
}

function languageModelFactory(config: ModelsConfig): (modelId: string) => LanguageModelV4 {
  const { baseUrl, apiKey } = config;
  switch (config.provider) {
    case 'openai': {
      const openai = createOpenAI({ ...(baseUrl === undefined ? {} : { baseURL: baseUrl }), ...(apiKey === undefined ? {} : { apiKey }) });
      // Chat completions rather than the Responses API: the one wire format OpenAI shares with
      // every OpenAI-compatible server, and the one the scripted test server speaks.
      return (modelId) => openai.chat(modelId);
    }
    case 'anthropic': {
      const anthropic = createAnthropic({ ...(baseUrl === undefined ? {} : { baseURL: baseUrl }), ...(apiKey === undefined ? {} : { apiKey }) });
      return (modelId) => anthropic(modelId);
    }
    case 'ollama': {
      const root = baseUrl ?? 'http://127.0.0.1:11434';
      const ollama = createOllama({ baseURL: root.endsWith('/api') ? root : `${root}/api`, fetch: ollamaStreamGuard('ollama') });
      return (modelId) => ollama(modelId);
    }
    case 'openai-compatible': {
      if (baseUrl === undefined) throw new Error('openai-compatible needs a base URL (checked by readModelsConfig)');
      const compatible = createOpenAICompatible({
        name: 'openai-compatible',
        baseURL: baseUrl,
        ...(apiKey === undefined ? {} : { apiKey }),
        includeUsage: true,
        // vLLM, llama.cpp server and LM Studio all accept a json_schema response format.
        supportsStructuredOutputs: true,
      });
      return (modelId) => compatible.chatModel(modelId);
    }
  }
}
