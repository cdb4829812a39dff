export { configFromEnv, webDirFromEnv } from './config.js';
export { CONTENT_SECURITY_POLICY, contentSecurityPolicy, webSite } from './web-site.js';
export { type AssistantThread, type AssistantThreadOptions, runAssistantThread, startAssistantThread } from './assistant-thread.js';
