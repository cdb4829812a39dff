// Test doubles of the assistant package, for its own tests and for anyone driving the assistant
// against a scripted provider. Never imported by product code.
export type { ScriptedModelServer, ScriptedRequest } from './scripted-http.js';
export type { RecordedRequest, ScriptedChunk, ScriptedResponse, ScriptedToolCall, ScriptedUsage } from './scripted-script.js';
export { startScriptedAnthropicServer } from './scripted-anthropic-server.js';
export { startScriptedOllamaServer } from './scripted-ollama-server.js';
export { startScriptedOpenAiServer } from './scripted-openai-server.js';
