// Test doubles of the apps package (`@parley/apps/test`): fixture MCP apps, and an OAuth authorisation server with an app behind it.
export {
  buildFixtureServer,
  INJECTION_TEXT,
  serveWeb,
  startFixtureApp,
  stdioFixtureCommand,
  WIDGET_HTML,
  WIDGET_MIME_TYPE,
  WIDGET_URI,
} from './fixture-apps.js';
export type { FixtureApp, FixtureAppOptions, FixtureCall, FixtureState, WebServer } from './fixture-apps.js';
export { startFixtureAuthServer, startOAuthFixtureApp } from './fixture-oauth.js';
export type { AuthorizationRequestSeen, FixtureAuthServer, FixtureAuthServerOptions, OAuthFixtureApp } from './fixture-oauth.js';
