// Test doubles of the apps package (`@parley/apps/test`): fixture MCP apps, an OAuth authorisation server with an app behind it, and an app with widgets.
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
export { FORECAST_CSP, FORECAST_URI, forecastHtml, SKYBRIDGE_HTML, SKYBRIDGE_URI, startWidgetApp, type WidgetApp } from './widget-app.js';
