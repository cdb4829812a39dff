import {
  buildPath,
  ErrorResponseSchema,
  ParleyError,
  type RouteDefinition,
  type RouteInput,
  type RouteName,
  type RouteOutput,
  routes,
  type SignInRequest,
  type SignUpRequest,
} from '@parley/protocol';

export interface ClientOptions {
  /** The server, such as http://127.0.0.1:3000. */
  baseUrl: string;
  /** Bearer token; without it, requests rely on the browser's session cookie. */
  token?: string;
  /** How requests are made: the global `fetch` unless given (`nodeFetch` from `@parley/sdk/node` costs less CPU in Node). */
  fetch?: FetchLike;
}

/** The part of `fetch` the client uses: the global one fits. */
export type FetchLike = (url: string, init: FetchInit) => Promise<FetchResponse>;

export interface FetchInit {
  method: string;
  headers: Record<string, string>;
  body?: string | Uint8Array | Blob;
  credentials: 'include';
  /** For a route that answers with a redirect (a browser's page): its 303 is the answer, not followed. */
  redirect?: 'manual';
}

export interface FetchResponse {
  readonly ok: boolean;
  readonly status: number;
  json(): Promise<unknown>;
  text(): Promise<string>;
  arrayBuffer(): Promise<ArrayBuffer>;
}

type Call<N extends RouteName> = {} extends RouteInput<N>
  ? (input?: RouteInput<N>) => Promise<RouteOutput<N>>
  : (input: RouteInput<N>) => Promise<RouteOutput<N>>;

/** Every endpoint of the route table as a typed method, named as in the OpenAPI document. */
export type Api = { [N in RouteName]: Call<N> };

/**
 * A typed client of the HTTP API. Inputs are sent as given (the server validates them); answers
 * are checked against the protocol's response schemas, and errors become `ParleyError`s.
 */
export class ParleyClient {
  readonly baseUrl: string;
  readonly api: Api;
  #token: string | undefined;
  readonly #fetch: FetchLike;

  constructor(options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/$/, '');
    this.#token = options.token;
    // The cast: DOM typings do not list Uint8Array as a body, though browsers and Node take it.
    this.#fetch = options.fetch ?? ((url, init) => globalThis.fetch(url, init as RequestInit));
    this.api = new Proxy({} as Api, {
      get: (_target, name) => {
        if (typeof name !== 'string' || !(name in routes)) return undefined;
        return (input?: object) => this.request(name as RouteName, (input ?? {}) as never);
      },
    });
  }

  get token(): string | undefined {
    return this.#token;
  }

  /** Creates an account and returns a client holding its bearer token. */
  static async signUp(baseUrl: string, request: Omit<SignUpRequest, 'session'>, options: Omit<ClientOptions, 'baseUrl'> = {}) {
    const client = new ParleyClient({ ...options, baseUrl });
    const session = await client.request('signUp', { body: { ...request, session: 'token' } });
    client.#token = session.token;
    return { client, user: session.user };
  }

  /** Signs in and returns a client holding a new bearer token. */
  static async signIn(baseUrl: string, request: Omit<SignInRequest, 'session'>, options: Omit<ClientOptions, 'baseUrl'> = {}) {
    const client = new ParleyClient({ ...options, baseUrl });
    const session = await client.request('signIn', { body: { ...request, session: 'token' } });
    client.#token = session.token;
    return { client, user: session.user };
  }

  async request<N extends RouteName>(name: N, input: RouteInput<N>): Promise<RouteOutput<N>> {
    const route: RouteDefinition = routes[name];
    const given = input as { params?: Record<string, unknown>; query?: Record<string, unknown>; body?: unknown; upload?: { data: Uint8Array | Blob; contentType: string } };
    let url = this.baseUrl + buildPath(route.path, given.params);
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(given.query ?? {})) if (value !== undefined) query.set(key, String(value));
    if ([...query].length > 0) url += `?${query.toString()}`;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    let body: FetchInit['body'];
    if (route.upload && given.upload) {
      headers['content-type'] = given.upload.contentType;
      body = given.upload.data;
    } else if (route.body) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(given.body ?? {});
    }
    const response = await this.#fetch(url, {
      method: route.method,
      headers,
      ...(body !== undefined ? { body } : {}),
      credentials: 'include',
      ...(route.response === 'redirect' ? { redirect: 'manual' as const } : {}),
    });
    // A `redirect` route answers a browser with a 303; a fetch that does not follow it sees that status.
    const redirected = route.response === 'redirect' && response.status === 303;
    if (!response.ok && !redirected) throw await errorOf(response);
    if (route.response === null || route.response === 'redirect') {
      // Read to the end all the same, so the connection is free for the next request at once.
      await response.arrayBuffer();
      return undefined as RouteOutput<N>;
    }
    if (route.response === 'binary') return new Uint8Array(await response.arrayBuffer()) as RouteOutput<N>;
    const parsed = route.response.safeParse(await response.json());
    if (!parsed.success) {
      throw new ParleyError('INTERNAL', `the server answered ${name} with an unexpected shape: ${parsed.error.issues[0]?.message ?? ''}`);
    }
    return parsed.data as RouteOutput<N>;
  }
}

async function errorOf(response: FetchResponse): Promise<ParleyError> {
  const text = await response.text();
  try {
    const parsed = ErrorResponseSchema.safeParse(JSON.parse(text));
    if (parsed.success) return ParleyError.fromBody(parsed.data.error);
  } catch {
    // Not JSON: fall through to a generic error with the status.
  }
  const code = response.status === 401 ? 'UNAUTHENTICATED' : response.status === 404 ? 'NOT_FOUND' : 'INTERNAL';
  return new ParleyError(code, `HTTP ${response.status}: ${text.slice(0, 200)}`);
}
