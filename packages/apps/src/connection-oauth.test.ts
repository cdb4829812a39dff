import { describe, expect, it } from 'vitest';
import type { OAuthClientMetadata, OAuthClientProvider, OAuthDiscoveryState, StoredOAuthClientInformation, StoredOAuthTokens } from '@modelcontextprotocol/client';
import { AppConnection, AuthorizationRequiredError, authorizeApp } from './connection.js';
import { startFixtureAuthServer, startOAuthFixtureApp } from './test/fixture-oauth.js';

const REDIRECT = 'http://127.0.0.1:1/callback';

/** One member's credentials, kept in memory (the server keeps them sealed in its database). */
class MemoryProvider implements OAuthClientProvider {
  client: StoredOAuthClientInformation | undefined;
  saved: StoredOAuthTokens | undefined;
  verifier = '';
  discovery: OAuthDiscoveryState | undefined;
  authorizationUrl: URL | undefined;
  readonly #state = 'state-1';

  get redirectUrl() {
    return REDIRECT;
  }
  get clientMetadata(): OAuthClientMetadata {
    return { client_name: 'Parley test', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] };
  }
  state() {
    return this.#state;
  }
  clientInformation() {
    return this.client;
  }
  saveClientInformation(client: StoredOAuthClientInformation) {
    this.client = client;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens: StoredOAuthTokens) {
    this.saved = tokens;
  }
  redirectToAuthorization(url: URL) {
    this.authorizationUrl = url;
  }
  saveCodeVerifier(verifier: string) {
    this.verifier = verifier;
  }
  codeVerifier() {
    return this.verifier;
  }
  saveDiscoveryState(state: OAuthDiscoveryState) {
    this.discovery = state;
  }
  discoveryState() {
    return this.discovery;
  }
}

describe('AppConnection with OAuth', () => {
  it('[AP16] an app that needs OAuth refuses until the member authorises; PKCE, resource and issuer are used; the call carries their token', async () => {
    await using authServer = await startFixtureAuthServer();
    await using app = await startOAuthFixtureApp(authServer);
    const provider = new MemoryProvider();
    await expect(AppConnection.open({ transport: 'http', url: app.url }, { authProvider: provider, timeoutMs: 5000 })).rejects.toBeInstanceOf(AuthorizationRequiredError);

    expect(await authorizeApp(app.url, provider)).toBe('redirect');
    const authorizationUrl = provider.authorizationUrl!;
    expect(authorizationUrl.origin).toBe(authServer.origin);
    expect(authorizationUrl.searchParams.get('resource')).toBe(app.url);
    expect(authorizationUrl.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorizationUrl.searchParams.get('state')).toBe('state-1');
    expect(authServer.clients.size).toBe(1);

    const callback = await authServer.approve(authorizationUrl.href, 'alice');
    expect(callback.searchParams.get('iss')).toBe(authServer.issuer);
    expect(await authorizeApp(app.url, provider, { code: callback.searchParams.get('code')!, iss: callback.searchParams.get('iss')! })).toBe('authorized');
    expect(provider.saved?.access_token).toEqual(expect.any(String));

    const connection = await AppConnection.open({ transport: 'http', url: app.url }, { authProvider: provider, timeoutMs: 5000 });
    try {
      expect((await connection.list()).tools.map((tool) => tool.name)).toContain('get_weather');
      await connection.callTool('get_weather', { city: 'Nantes' });
      expect(app.calls).toEqual([{ tool: 'get_weather', arguments: { city: 'Nantes' }, user: 'alice' }]);
    } finally {
      await connection.close();
    }
  });

  it('[AP16] an expired access token is refreshed without asking the member again', async () => {
    await using authServer = await startFixtureAuthServer();
    await using app = await startOAuthFixtureApp(authServer);
    const provider = new MemoryProvider();
    await authorizeApp(app.url, provider);
    const callback = await authServer.approve(provider.authorizationUrl!.href, 'bob');
    await authorizeApp(app.url, provider, { code: callback.searchParams.get('code')!, iss: callback.searchParams.get('iss')! });
    const first = provider.saved?.access_token;
    authServer.expireAccessTokens();
    const connection = await AppConnection.open({ transport: 'http', url: app.url }, { authProvider: provider, timeoutMs: 5000 });
    try {
      await connection.callTool('get_weather', { city: 'Caen' });
    } finally {
      await connection.close();
    }
    expect(provider.saved?.access_token).not.toBe(first);
    expect(authServer.tokenRequests.map((request) => `${request.grantType} ${request.status}`)).toEqual(['authorization_code 200', 'refresh_token 200']);
    expect(app.calls.at(-1)).toMatchObject({ user: 'bob' });
  });

  it('[AP16] a callback whose iss is not the recorded issuer is refused before the code is redeemed', async () => {
    await using authServer = await startFixtureAuthServer();
    await using app = await startOAuthFixtureApp(authServer);
    const provider = new MemoryProvider();
    await authorizeApp(app.url, provider);
    const callback = await authServer.approve(provider.authorizationUrl!.href, 'alice');
    await expect(authorizeApp(app.url, provider, { code: callback.searchParams.get('code')!, iss: 'http://127.0.0.1:9/other' })).rejects.toMatchObject({ kind: 'issuer' });
    expect(authServer.tokenRequests).toEqual([]);
    expect(provider.saved).toBeUndefined();
  });

  it('[AP16] an authorisation server whose metadata names another issuer is refused (RFC 8414 §3.3)', async () => {
    await using authServer = await startFixtureAuthServer({ issuer: 'http://127.0.0.1:9/elsewhere' });
    await using app = await startOAuthFixtureApp(authServer);
    const provider = new MemoryProvider();
    await expect(authorizeApp(app.url, provider)).rejects.toMatchObject({ kind: 'issuer' });
    await expect(AppConnection.open({ transport: 'http', url: app.url }, { authProvider: provider, timeoutMs: 5000 })).rejects.toMatchObject({ kind: 'issuer' });
    expect(authServer.clients.size).toBe(0);
    expect(provider.authorizationUrl).toBeUndefined();
  });
});
