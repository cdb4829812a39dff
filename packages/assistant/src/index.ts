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
