export { configFromEnv } from './config.js';
export { type AssistantThread, type AssistantThreadOptions, runAssistantThread, startAssistantThread } from './assistant-thread.js';
