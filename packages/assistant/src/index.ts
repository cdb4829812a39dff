// The assistant's one public entry point.
export { decide } from './policy/decide.js';
export { mentionsName } from './policy/mentions.js';
export { DEFAULT_MODEL_TIMEOUT_MS, ModelDecisionSchema } from './policy/model.js';
export { TURN_RULES } from './policy/types.js';
export type {
  AskModel,
  Decision,
  ModelDecision,
  ModelPrompt,
  PolicyInput,
  PolicyMember,
  PolicyMessage,
  TurnRule,
} from './policy/types.js';

// Model providers: configuration, the ChatModel interface, errors, auto model choice.
export type {
  AnyChatTool,
  ChatFinishReason,
  ChatMessage,
  ChatModel,
  ChatRequest,
  ChatStreamPart,
  ChatTool,
  ChatToolCall,
  ChatToolResult,
  ChatUsage,
  DecideRequest,
} from './providers/chat-model.js';
export {
  DEFAULT_MAX_RETRIES,
  DEFAULT_OLLAMA_BASE_URL,
  DEFAULT_TIMEOUT_MS,
  MODEL_ENV_VARIABLES,
  ModelChoice,
  type ModelsConfig,
  ModelsConfigError,
  type ModelsConfigResult,
  NOT_CONFIGURED_ERROR,
  NOT_CONFIGURED_REPLY,
  ProviderName,
  readModelsConfig,
} from './providers/config.js';
export { chooseModel, classifyTurn, type TurnClass, type TurnToClassify } from './providers/model-choice.js';
export { type CreateModelsOptions, createModels, type LoadModelsResult, loadModels, type Models } from './providers/models.js';
export { ProviderError, ProviderErrorCode, type ProviderErrorOptions, toProviderError } from './providers/provider-error.js';
