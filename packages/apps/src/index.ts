// The apps package's one public entry point: Parley's MCP host side (connect, list, hash, call).
export { AppAuthorizationError, AppConnection, AuthorizationRequiredError, authorizeApp, isAuthorizationRequired, hashListing, CLIENT_INFO, MAX_LISTED_ITEMS, MAX_UI_RESOURCE_CHARACTERS } from './connection.js';
export type { AppSource, AppListing, ListedTool, ListedUiResource, ToolVisibility, ConnectOptions, CallToolOptions, ToolProgress } from './connection.js';
export type { CallToolResult as ToolResult } from '@modelcontextprotocol/client';
export type { OAuthClientProvider, OAuthClientInformationContext, OAuthClientMetadata, OAuthDiscoveryState, StoredOAuthClientInformation, StoredOAuthTokens } from '@modelcontextprotocol/client';
