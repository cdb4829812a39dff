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

export { buildPrompt, PROMPT_LIMITS } from './context/build-prompt.js';
export type { BuildPromptInput, Prompt, PromptMessage } from './context/build-prompt.js';
export { contentPolicyText, STANDARD_POLICY_TEXT, TEEN_POLICY_TEXT } from './context/content-policy.js';
export { LOAD_LIMITS, loadContext, loadOlderMessages, updateSummary } from './context/load-context.js';
export type { LoadContextOptions, LoadedContext } from './context/load-context.js';
export { personalDataOf, toPromptContext } from './context/prompt-context.js';
export type { OneToOneContext, PersonalContext, PromptContext, SharedConversationContext } from './context/prompt-context.js';
export { needsSummary, summarise, SUMMARY_LIMITS, summaryInstructions } from './context/summary.js';
export type { SummariseOptions, Summarizer, SummaryRange, SummaryRequest } from './context/summary.js';
export { estimateTokens, TOKEN_ESTIMATE, truncateToTokens } from './context/token-estimate.js';

// The runtime: the assistant as a member of every conversation it sits in.
export { AssistantRuntime, CATCH_UP_LOOKBACK_MS, catchUpMinutesOf, DEFAULT_CATCH_UP_MINUTES, DEFAULT_PROMPT_BUDGET } from './runtime/assistant-runtime.js';
export type { AssistantRuntimeOptions } from './runtime/assistant-runtime.js';
export type { Logger } from './runtime/logger.js';
