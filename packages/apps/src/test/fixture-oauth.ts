import crypto from 'node:crypto';
import { createMcpHandler, requireBearerAuth, OAuthError, OAuthErrorCode } from '@modelcontextprotocol/server';
import { buildFixtureServer, type FixtureCall, type FixtureState, serveWeb } from './fixture-apps.js';

/**
 * A small OAuth 2.1 authorisation server for the tests, and the fixture MCP app behind it:
 * authorisation-server metadata (RFC 8414), dynamic client registration (RFC 7591), an
 * `/authorize` page that signs in a named test user (a form, or `?user=` at once), a `/token`
 * endpoint that checks PKCE S256, the redirect URI and the `resource` (RFC 8707) and issues
 * refresh tokens; and an app that serves its protected-resource metadata (RFC 9728) and refuses
 * any request without a valid bearer token for itself (401 with `resource_metadata`).
 */

export interface FixtureAuthServerOptions {
  /** Publish this `issuer` in the metadata instead of the server's own address (an issuer mismatch). */
  issuer?: string;
  /** Access tokens live this long (seconds); refresh tokens do not expire. */
  accessTokenSeconds?: number;
  /** Authorisation codes live this long (ms). */
  codeTtlMs?: number;
}

interface IssuedCode {
  clientId: string;
  redirectUri: string;
  challenge: string;
  resource: string | null;
  scope: string | null;
  user: string;
  expiresAt: number;
}

interface IssuedToken {
  user: string;
  clientId: string;
  resource: string | null;
  scope: string | null;
  expiresAt: number;
}

export interface AuthorizationRequestSeen {
  clientId: string;
  redirectUri: string;
  resource: string | null;
  state: string | null;
  codeChallengeMethod: string | null;
}

export interface FixtureAuthServer extends AsyncDisposable {
  /** The address it serves (and, unless told otherwise, its issuer). */
  readonly origin: string;
  readonly issuer: string;
  /** Every `/authorize` request, in order. */
  readonly authorizationRequests: AuthorizationRequestSeen[];
  /** Every `/token` request's grant type and its answer's status, in order. */
  readonly tokenRequests: { grantType: string; status: number; error?: string }[];
  /** Clients registered, by id. */
  readonly clients: ReadonlyMap<string, { redirectUris: string[] }>;
  /** The user and resource of a valid access token, or undefined. */
  verify(token: string): IssuedToken | undefined;
  /** From now on every access token issued so far is expired (a refresh is needed). */
  expireAccessTokens(): void;
  /** Every authorisation code issued so far expires now (as if the browser came back too late). */
  expireCodes(): void;
  /** Forgets every refresh token (the next refresh fails with `invalid_grant`). */
  revokeRefreshTokens(): void;
  /**
   * Follows an authorisation URL as a browser would, signing in `user`, and returns the
   * address it redirects to (the client's callback, with `code`, `state` and `iss`).
   */
  approve(authorizationUrl: string, user: string): Promise<URL>;
  close(): Promise<void>;
}

const random = () => crypto.randomBytes(24).toString('base64url');
const json = (value: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(value), { status, headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers } });
const oauthError = (error: string, description: string, status = 400) => json({ error, error_description: description }, status);
const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

export async function startFixtureAuthServer(options: FixtureAuthServerOptions = {}): Promise<FixtureAuthServer> {
  const clients = new Map<string, { redirectUris: string[] }>();
  const codes = new Map<string, IssuedCode>();
  const accessTokens = new Map<string, IssuedToken>();
  const refreshTokens = new Map<string, Omit<IssuedToken, 'expiresAt'>>();
  const authorizationRequests: AuthorizationRequestSeen[] = [];
  const tokenRequests: { grantType: string; status: number; error?: string }[] = [];
  const accessTokenSeconds = options.accessTokenSeconds ?? 3600;
  const codeTtlMs = options.codeTtlMs ?? 60_000;
  let issuer = '';

  function issueTokens(grant: Omit<IssuedToken, 'expiresAt'>): Response {
    const accessToken = random();
    const refreshToken = random();
    accessTokens.set(accessToken, { ...grant, expiresAt: Date.now() + accessTokenSeconds * 1000 });
    refreshTokens.set(refreshToken, grant);
    return json({ access_token: accessToken, token_type: 'Bearer', expires_in: accessTokenSeconds, refresh_token: refreshToken, ...(grant.scope ? { scope: grant.scope } : {}) });
  }

  /** Checks an authorisation request; an answer when it is refused before the client's redirect can be trusted. */
  function checkAuthorizationRequest(params: URLSearchParams): Response | undefined {
    const client = clients.get(params.get('client_id') ?? '');
    if (!client) return new Response('unknown client', { status: 400 });
    if (!client.redirectUris.includes(params.get('redirect_uri') ?? '')) return new Response('redirect_uri not registered', { status: 400 });
    return undefined;
  }

  /** The redirect back to the client once `user` approved. */
  function approveRequest(params: URLSearchParams, user: string): Response {
    const redirect = new URL(params.get('redirect_uri') ?? '');
    const state = params.get('state');
    if (state) redirect.searchParams.set('state', state);
    redirect.searchParams.set('iss', issuer);
    if (params.get('response_type') !== 'code' || params.get('code_challenge_method') !== 'S256' || !params.get('code_challenge')) {
      redirect.searchParams.set('error', 'invalid_request');
      redirect.searchParams.set('error_description', 'response_type code with a PKCE S256 challenge is required');
      return new Response(null, { status: 302, headers: { location: redirect.href } });
    }
    const code = random();
    codes.set(code, {
      clientId: params.get('client_id') ?? '',
      redirectUri: params.get('redirect_uri') ?? '',
      challenge: params.get('code_challenge') ?? '',
      resource: params.get('resource'),
      scope: params.get('scope'),
      user,
      expiresAt: Date.now() + codeTtlMs,
    });
    redirect.searchParams.set('code', code);
    return new Response(null, { status: 302, headers: { location: redirect.href } });
  }

  function signInPage(params: URLSearchParams): Response {
    const hidden = [...params.entries()].map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`).join('');
    const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Fixture sign-in</title>
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem}label,input,button{display:block;font-size:1rem;margin:.5rem 0}input[type=text]{padding:.4rem;width:100%}button{padding:.5rem 1rem}</style></head>
<body><h1>Fixture authorisation server</h1><p>An app asks to act for you (resource ${escapeHtml(params.get('resource') ?? 'none')}).</p>
<form method="post" action="/authorize">${hidden}<label for="user">Test user</label><input type="text" id="user" name="user" required>
<button type="submit">Allow</button></form></body></html>`;
    return new Response(html, { headers: { 'content-type': 'text/html; charset=utf-8' } });
  }

  async function token(request: Request): Promise<Response> {
    const form = new URLSearchParams(await request.text());
    const grantType = form.get('grant_type') ?? '';
    const answer = await tokenAnswer(form, grantType);
    const body = answer.status === 200 ? undefined : ((await answer.clone().json()) as { error?: string });
    tokenRequests.push({ grantType, status: answer.status, ...(body?.error ? { error: body.error } : {}) });
    return answer;
  }

  async function tokenAnswer(form: URLSearchParams, grantType: string): Promise<Response> {
    const clientId = form.get('client_id') ?? '';
    if (!clients.has(clientId)) return oauthError('invalid_client', 'unknown client', 401);
    const resource = form.get('resource');
    if (grantType === 'authorization_code') {
      const code = codes.get(form.get('code') ?? '');
      // A code is used once, whatever the outcome.
      codes.delete(form.get('code') ?? '');
      if (!code || code.clientId !== clientId) return oauthError('invalid_grant', 'unknown or used authorisation code');
      if (code.expiresAt < Date.now()) return oauthError('invalid_grant', 'the authorisation code expired');
      if (code.redirectUri !== form.get('redirect_uri')) return oauthError('invalid_grant', 'redirect_uri differs from the authorisation request');
      const verifier = form.get('code_verifier') ?? '';
      const challenge = crypto.createHash('sha256').update(verifier).digest('base64url');
      if (!verifier || challenge !== code.challenge) return oauthError('invalid_grant', 'the PKCE code_verifier does not match the challenge');
      if (code.resource !== resource) return oauthError('invalid_target', 'resource differs from the authorisation request');
      return issueTokens({ user: code.user, clientId, resource: code.resource, scope: code.scope });
    }
    if (grantType === 'refresh_token') {
      const refreshToken = form.get('refresh_token') ?? '';
      const grant = refreshTokens.get(refreshToken);
      if (!grant || grant.clientId !== clientId) return oauthError('invalid_grant', 'unknown refresh token');
      if (resource !== null && resource !== grant.resource) return oauthError('invalid_target', 'resource differs from the grant');
      // Refresh tokens rotate (OAuth 2.1 for public clients).
      refreshTokens.delete(refreshToken);
      return issueTokens(grant);
    }
    return oauthError('unsupported_grant_type', `grant_type ${grantType || '(none)'} is not supported`);
  }

  const web = await serveWeb(async (request) => {
    const url = new URL(request.url);
    if (url.pathname === '/.well-known/oauth-authorization-server' && request.method === 'GET') {
      return json({
        issuer,
        authorization_endpoint: `${web.origin}/authorize`,
        token_endpoint: `${web.origin}/token`,
        registration_endpoint: `${web.origin}/register`,
        response_types_supported: ['code'],
        grant_types_supported: ['authorization_code', 'refresh_token'],
        code_challenge_methods_supported: ['S256'],
        token_endpoint_auth_methods_supported: ['none'],
        authorization_response_iss_parameter_supported: true,
      });
    }
    if (url.pathname === '/register' && request.method === 'POST') {
      const body = (await request.json().catch(() => null)) as { redirect_uris?: unknown } | null;
      const redirectUris = Array.isArray(body?.redirect_uris) ? body.redirect_uris.filter((item): item is string => typeof item === 'string') : [];
      if (redirectUris.length === 0) return oauthError('invalid_redirect_uri', 'redirect_uris is required');
      const clientId = random();
      clients.set(clientId, { redirectUris });
      return json({ ...body, client_id: clientId, client_id_issued_at: Math.floor(Date.now() / 1000), token_endpoint_auth_method: 'none' }, 201);
    }
    if (url.pathname === '/authorize') {
      const params = request.method === 'POST' ? new URLSearchParams(await request.text()) : url.searchParams;
      const refused = checkAuthorizationRequest(params);
      if (refused) return refused;
      if (request.method === 'GET') {
        authorizationRequests.push({
          clientId: params.get('client_id') ?? '',
          redirectUri: params.get('redirect_uri') ?? '',
          resource: params.get('resource'),
          state: params.get('state'),
          codeChallengeMethod: params.get('code_challenge_method'),
        });
      }
      const user = params.get('user');
      if (user) {
        const forwarded = new URLSearchParams(params);
        forwarded.delete('user');
        return approveRequest(forwarded, user);
      }
      return signInPage(params);
    }
    if (url.pathname === '/token' && request.method === 'POST') return token(request);
    return new Response('not found', { status: 404 });
  });
  issuer = options.issuer ?? web.origin;

  const close = () => web.close();
  return {
    origin: web.origin,
    issuer,
    authorizationRequests,
    tokenRequests,
    clients,
    verify(accessToken) {
      const issued = accessTokens.get(accessToken);
      return issued && issued.expiresAt > Date.now() ? issued : undefined;
    },
    expireAccessTokens() {
      for (const issued of accessTokens.values()) issued.expiresAt = 0;
    },
    expireCodes() {
      for (const code of codes.values()) code.expiresAt = 0;
    },
    revokeRefreshTokens() {
      refreshTokens.clear();
    },
    async approve(authorizationUrl, user) {
      const url = new URL(authorizationUrl);
      url.searchParams.set('user', user);
      const response = await fetch(url, { redirect: 'manual' });
      const location = response.headers.get('location');
      if (response.status !== 302 || !location) throw new Error(`the authorisation server answered ${response.status}: ${await response.text()}`);
      return new URL(location);
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

export interface OAuthFixtureApp extends AsyncDisposable {
  /** The MCP endpoint (and the protected resource's identifier). */
  readonly url: string;
  /** Every tool call, with the user whose token made it. */
  readonly calls: FixtureCall[];
  /** Requests refused for want of a valid token. */
  readonly refused: number;
  close(): Promise<void>;
}

/**
 * The fixture weather app, protected by `authServer`: its protected-resource metadata names the
 * authorisation server, and every MCP request needs a bearer token issued for this app's URL.
 */
export async function startOAuthFixtureApp(authServer: FixtureAuthServer): Promise<OAuthFixtureApp> {
  const state: FixtureState = { drifted: false, calls: [], cancelled: [] };
  const mcp = createMcpHandler(() => buildFixtureServer(state));
  let refused = 0;
  let resource = '';
  let resourceMetadataUrl = '';
  const gate = () =>
    requireBearerAuth({
      verifier: {
        async verifyAccessToken(token) {
          const issued = authServer.verify(token);
          if (!issued) throw new OAuthError(OAuthErrorCode.InvalidToken, 'unknown or expired token');
          return {
            token,
            clientId: issued.clientId,
            scopes: issued.scope ? issued.scope.split(' ') : [],
            expiresAt: Math.floor(issued.expiresAt / 1000),
            ...(issued.resource ? { resource: new URL(issued.resource) } : {}),
            extra: { user: issued.user },
          };
        },
      },
      expectedResource: new URL(resource),
      resourceMetadataUrl,
    });
  let check: ReturnType<typeof gate> | undefined;
  const web = await serveWeb(async (request) => {
    const url = new URL(request.url);
    if (url.pathname === '/.well-known/oauth-protected-resource/mcp' && request.method === 'GET') {
      return json({ resource, authorization_servers: [authServer.origin], bearer_methods_supported: ['header'] });
    }
    if (!url.pathname.startsWith('/mcp')) return new Response('not found', { status: 404 });
    check ??= gate();
    const authInfo = await check(request);
    if (authInfo instanceof Response) {
      refused += 1;
      return authInfo;
    }
    return mcp.fetch(request, { authInfo });
  });
  resource = `${web.origin}/mcp`;
  resourceMetadataUrl = `${web.origin}/.well-known/oauth-protected-resource/mcp`;
  const close = async () => {
    await mcp.close();
    await web.close();
  };
  return {
    url: resource,
    calls: state.calls,
    get refused() {
      return refused;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
