import crypto from 'node:crypto';
import {
  auth,
  AuthorizationServerMismatchError,
  Client,
  IssuerMismatchError,
  OAuthError,
  StreamableHTTPClientTransport,
  UnauthorizedError,
} from '@modelcontextprotocol/client';
import { DEFAULT_INHERITED_ENV_VARS, StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import type { CallToolResult, OAuthClientProvider, Resource, Tool } from '@modelcontextprotocol/client';

/** Where an app is: a remote MCP endpoint (Streamable HTTP), or a full command an administrator configured (stdio). */
export type AppSource = { readonly transport: 'http'; readonly url: string } | { readonly transport: 'stdio'; readonly command: readonly string[] };

export type ToolVisibility = 'model' | 'app';

/** One tool as the app lists it. */
export interface ListedTool {
  name: string;
  title: string | null;
  description: string | null;
  inputSchema: Record<string, unknown>;
  outputSchema: Record<string, unknown> | null;
  annotations: { title?: string; readOnlyHint?: boolean; destructiveHint?: boolean; idempotentHint?: boolean; openWorldHint?: boolean };
  uiResourceUri: string | null;
  visibility: ToolVisibility[];
}

/** A `ui://` resource of the app, with its content. */
export interface ListedUiResource {
  uri: string;
  name: string | null;
  mimeType: string | null;
  text: string | null;
  meta: Record<string, unknown> | null;
}

/** What an app offers, as read at one connection. */
export interface AppListing {
  protocolEra: 'modern' | 'legacy';
  server: { name: string; version: string } | null;
  instructions: string | null;
  tools: ListedTool[];
  uiResources: ListedUiResource[];
  /** SHA-256 of the tools and UI resources, see `hashListing`. */
  hash: string;
}

export interface ConnectOptions {
  /** Longest wait for each request to the app, connecting included. */
  timeoutMs?: number;
  /** For stdio apps: environment of the child (by default only PATH and HOME, never Parley's own settings). */
  env?: Record<string, string>;
  /**
   * Told when the app says its tools or resources changed (`notifications/tools/list_changed`,
   * `notifications/resources/list_changed`; on the current protocol through the
   * `subscriptions/listen` stream the client opens). Changes close together are told once.
   */
  onListChanged?: () => void;
  /**
   * For a remote app that needs OAuth: the member's credentials. The SDK discovers the
   * authorisation server (RFC 9728, RFC 8414, checking its issuer), registers, sends the
   * `resource` (RFC 8707), refreshes tokens; when the member must authorise first, `open`
   * throws `AuthorizationRequiredError`.
   */
  authProvider?: OAuthClientProvider;
}

/** The app needs the member to authorise Parley first (no token, or one that cannot be refreshed). */
export class AuthorizationRequiredError extends Error {
  constructor(message = 'the app needs your authorisation first') {
    super(message);
    this.name = 'AuthorizationRequiredError';
  }
}

/** Whether an error means the app refused for want of authorisation. */
export function isAuthorizationRequired(error: unknown): boolean {
  return error instanceof AuthorizationRequiredError || UnauthorizedError.isInstance(error);
}

/**
 * Why an authorisation could not go on: `issuer` (the authorisation server is not the one the
 * app names, or the callback came from another: RFC 8414 §3.3, RFC 9207), `refused` (the
 * authorisation server refused, such as an expired or used code: `code` is its OAuth error), or
 * `unreachable` (discovery or a request failed).
 */
export class AppAuthorizationError extends Error {
  readonly kind: 'issuer' | 'refused' | 'unreachable';
  readonly code: string | null;

  constructor(kind: 'issuer' | 'refused' | 'unreachable', message: string, code: string | null = null) {
    super(message);
    this.name = 'AppAuthorizationError';
    this.kind = kind;
    this.code = code;
  }
}

function authorizationErrorOf(error: unknown): AppAuthorizationError {
  const message = error instanceof Error ? error.message : String(error);
  if (IssuerMismatchError.isInstance(error) || AuthorizationServerMismatchError.isInstance(error)) return new AppAuthorizationError('issuer', message);
  if (OAuthError.isInstance(error)) return new AppAuthorizationError('refused', message, (error as OAuthError).code);
  return new AppAuthorizationError('unreachable', message);
}

/**
 * Starts or completes a member's authorisation for an app: without `code`, discovers the
 * authorisation server, registers and refreshes if it can (`authorized`), or hands the
 * authorisation URL to `provider.redirectToAuthorization` (`redirect`); with the callback's
 * `code` (and `iss`, checked against the recorded issuer, RFC 9207), exchanges it for tokens.
 */
export async function authorizeApp(url: string, provider: OAuthClientProvider, callback?: { code: string; iss?: string }): Promise<'authorized' | 'redirect'> {
  let result: Awaited<ReturnType<typeof auth>>;
  try {
    result = await auth(provider, {
      serverUrl: url,
      ...(callback ? { authorizationCode: callback.code, ...(callback.iss !== undefined ? { iss: callback.iss } : {}) } : {}),
    });
  } catch (error) {
    throw authorizationErrorOf(error);
  }
  return result === 'AUTHORIZED' ? 'authorized' : 'redirect';
}

/** A progress notification of a running tool call, as the app sent it. */
export interface ToolProgress {
  progress: number;
  total: number | null;
  message: string | null;
}

export interface CallToolOptions {
  /** Cancels the call: the app is sent `notifications/cancelled` and the call rejects. */
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Asks the app for progress notifications, and is told each one. */
  onProgress?: (progress: ToolProgress) => void;
}

/** Changes told within this many milliseconds are told once. */
const LIST_CHANGED_DEBOUNCE_MS = 100;

export const CLIENT_INFO = { name: 'parley', version: '0.1.0' } as const;
/** Most tools and UI resources read from one app: a listing past them is refused as it is paged. */
export const MAX_LISTED_ITEMS = 500;
/** Largest UI resource kept for review and serving. */
export const MAX_UI_RESOURCE_CHARACTERS = 1_000_000;

function objectOrNull(value: unknown): Record<string, unknown> | null {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}

/**
 * `_meta.ui` of a tool or resource (MCP Apps), also read from the older flat key `ui/resourceUri`
 * and from the OpenAI Apps SDK's keys when MCP Apps' are absent: `openai/outputTemplate` (the
 * widget of a tool), `openai/widgetCSP` (`connect_domains`, `resource_domains`, `frame_domains`)
 * and `openai/widgetPrefersBorder` (of a resource).
 */
function uiMetaOf(meta: unknown): Record<string, unknown> {
  const object = objectOrNull(meta) ?? {};
  const ui: Record<string, unknown> = { ...(objectOrNull(object.ui) ?? {}) };
  const legacyUri = object['ui/resourceUri'] ?? object['openai/outputTemplate'];
  if (typeof ui.resourceUri !== 'string' && typeof legacyUri === 'string') ui.resourceUri = legacyUri;
  const openaiCsp = objectOrNull(object['openai/widgetCSP']);
  if (!objectOrNull(ui.csp) && openaiCsp) {
    const list = (value: unknown) => (Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : []);
    ui.csp = { connectDomains: list(openaiCsp.connect_domains), resourceDomains: list(openaiCsp.resource_domains), frameDomains: list(openaiCsp.frame_domains) };
  }
  if (typeof ui.prefersBorder !== 'boolean' && typeof object['openai/widgetPrefersBorder'] === 'boolean') ui.prefersBorder = object['openai/widgetPrefersBorder'];
  return ui;
}

function toListedTool(tool: Tool): ListedTool {
  const ui = uiMetaOf(tool._meta);
  const declared = Array.isArray(ui.visibility) ? ui.visibility.filter((item): item is ToolVisibility => item === 'model' || item === 'app') : [];
  const annotations = tool.annotations ?? {};
  return {
    name: tool.name,
    title: tool.title ?? annotations.title ?? null,
    description: tool.description ?? null,
    inputSchema: tool.inputSchema as Record<string, unknown>,
    outputSchema: (tool.outputSchema as Record<string, unknown> | undefined) ?? null,
    annotations: {
      ...(annotations.title !== undefined ? { title: annotations.title } : {}),
      ...(annotations.readOnlyHint !== undefined ? { readOnlyHint: annotations.readOnlyHint } : {}),
      ...(annotations.destructiveHint !== undefined ? { destructiveHint: annotations.destructiveHint } : {}),
      ...(annotations.idempotentHint !== undefined ? { idempotentHint: annotations.idempotentHint } : {}),
      ...(annotations.openWorldHint !== undefined ? { openWorldHint: annotations.openWorldHint } : {}),
    },
    uiResourceUri: typeof ui.resourceUri === 'string' ? ui.resourceUri : null,
    visibility: declared.length > 0 ? [...new Set(declared)].sort() : ['app', 'model'],
  };
}

/** JSON with object keys sorted at every level: the same value always gives the same text. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * The hash an approval is bound to: SHA-256 over the tools (names, descriptions, schemas,
 * annotations, UI links, visibility) and the UI resources (with their documents), in name and
 * URI order. Anything the model or a member could be shown differently changes it.
 */
export function hashListing(listing: Pick<AppListing, 'tools' | 'uiResources'>): string {
  const tools = [...listing.tools].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const uiResources = [...listing.uiResources].sort((a, b) => (a.uri < b.uri ? -1 : a.uri > b.uri ? 1 : 0));
  return crypto.createHash('sha256').update(canonicalJson({ tools, uiResources })).digest('hex');
}

function transportFor(source: AppSource, options: ConnectOptions) {
  if (source.transport === 'http') {
    return new StreamableHTTPClientTransport(new URL(source.url), options.authProvider ? { authProvider: options.authProvider } : undefined);
  }
  const [command, ...args] = source.command;
  if (!command) throw new Error('an app command needs its executable');
  return new StdioClientTransport({
    command,
    args,
    env: childEnvironment(options.env ?? { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' }),
    stderr: 'ignore',
  });
}

/**
 * Exactly `env` for a local app's child [AP2]. The SDK's transport adds its own defaults from
 * this process (`LOGNAME`, `SHELL`, `TERM`, `USER`) under what it is given; each of those not in
 * `env` is given as undefined, which the child process leaves out.
 */
function childEnvironment(env: Record<string, string>): Record<string, string> {
  const masked: Record<string, string | undefined> = Object.fromEntries(DEFAULT_INHERITED_ENV_VARS.map((key) => [key, undefined]));
  return { ...masked, ...env } as Record<string, string>;
}

/** A connection to one app: an MCP client, negotiated in auto mode (the current protocol, or a 2025 server's `initialize`). */
export class AppConnection {
  readonly #client: Client;
  readonly #timeoutMs: number;

  private constructor(client: Client, timeoutMs: number) {
    this.#client = client;
    this.#timeoutMs = timeoutMs;
  }

  static async open(source: AppSource, options: ConnectOptions = {}): Promise<AppConnection> {
    const timeoutMs = options.timeoutMs ?? 30_000;
    const onListChanged = options.onListChanged;
    const watch = onListChanged ? { autoRefresh: false, debounceMs: LIST_CHANGED_DEBOUNCE_MS, onChanged: () => onListChanged() } : undefined;
    const client = new Client(CLIENT_INFO, {
      versionNegotiation: { mode: 'auto', probe: { timeoutMs } },
      ...(watch ? { listChanged: { tools: watch, resources: watch } } : {}),
    });
    try {
      await client.connect(transportFor(source, options), { timeout: timeoutMs });
    } catch (error) {
      await client.close().catch(() => undefined);
      if (isAuthorizationRequired(error)) throw new AuthorizationRequiredError();
      // The app answered 401 and its authorisation server could not be used (issuer check, refusal).
      if (IssuerMismatchError.isInstance(error) || AuthorizationServerMismatchError.isInstance(error) || OAuthError.isInstance(error)) throw authorizationErrorOf(error);
      throw error;
    }
    return new AppConnection(client, timeoutMs);
  }

  get protocolEra(): 'modern' | 'legacy' {
    return this.#client.getProtocolEra() === 'modern' ? 'modern' : 'legacy';
  }

  /** Lists every tool, and every `ui://` resource (those listed and those the tools link to) with its document. */
  async list(): Promise<AppListing> {
    const capabilities = this.#client.getServerCapabilities() ?? {};
    const tools: Tool[] = [];
    if (capabilities.tools) {
      let cursor: string | undefined;
      do {
        const page = await this.#client.listTools(cursor ? { cursor } : undefined, { timeout: this.#timeoutMs });
        tools.push(...page.tools);
        if (tools.length > MAX_LISTED_ITEMS) throw new Error(`the app lists more than ${MAX_LISTED_ITEMS} tools`);
        cursor = page.nextCursor;
      } while (cursor);
    }
    const listedResources: Resource[] = [];
    if (capabilities.resources) {
      let cursor: string | undefined;
      do {
        const page = await this.#client.listResources(cursor ? { cursor } : undefined, { timeout: this.#timeoutMs });
        listedResources.push(...page.resources.filter((resource) => resource.uri.startsWith('ui://')));
        if (listedResources.length > MAX_LISTED_ITEMS) throw new Error(`the app lists more than ${MAX_LISTED_ITEMS} UI resources`);
        cursor = page.nextCursor;
      } while (cursor);
    }
    const listedTools = tools.map(toListedTool);
    const uris = new Set([...listedResources.map((resource) => resource.uri), ...listedTools.flatMap((tool) => (tool.uiResourceUri?.startsWith('ui://') ? [tool.uiResourceUri] : []))]);
    const uiResources: ListedUiResource[] = [];
    for (const uri of [...uris].sort()) {
      const listed = listedResources.find((resource) => resource.uri === uri);
      uiResources.push(await this.#readUiResource(uri, listed));
    }
    const server = this.#client.getServerVersion();
    const listing = {
      protocolEra: this.protocolEra,
      server: server ? { name: server.name, version: server.version } : null,
      instructions: this.#client.getInstructions() ?? null,
      tools: listedTools,
      uiResources,
    };
    return { ...listing, hash: hashListing(listing) };
  }

  async #readUiResource(uri: string, listed: Resource | undefined): Promise<ListedUiResource> {
    const base = { uri, name: listed?.name ?? null, mimeType: listed?.mimeType ?? null };
    try {
      const result = await this.#client.readResource({ uri }, { timeout: this.#timeoutMs });
      const content = result.contents.find((item) => item.uri === uri) ?? result.contents[0];
      const text = content && 'text' in content && typeof content.text === 'string' ? content.text : null;
      if (text !== null && text.length > MAX_UI_RESOURCE_CHARACTERS) throw new Error(`${uri} is larger than ${MAX_UI_RESOURCE_CHARACTERS} characters`);
      const meta = uiMetaOf(content?._meta ?? listed?._meta);
      return { ...base, mimeType: content?.mimeType ?? base.mimeType, text, meta: Object.keys(meta).length > 0 ? meta : null };
    } catch (error) {
      if (error instanceof Error && error.message.includes('larger than')) throw error;
      return { ...base, text: null, meta: null };
    }
  }

  /** Calls a tool; `signal` cancels it (the app is told), `onProgress` hears the app's progress notifications. */
  async callTool(name: string, args: Record<string, unknown>, options: CallToolOptions = {}): Promise<CallToolResult> {
    const onProgress = options.onProgress;
    return this.#client.callTool(
      { name, arguments: args },
      {
        timeout: options.timeoutMs ?? this.#timeoutMs,
        ...(options.signal ? { signal: options.signal } : {}),
        ...(onProgress
          ? {
              onprogress: (progress: { progress: number; total?: number | undefined; message?: string | undefined }) =>
                onProgress({ progress: progress.progress, total: progress.total ?? null, message: progress.message ?? null }),
            }
          : {}),
      },
    );
  }

  async close(): Promise<void> {
    await this.#client.close();
  }
}
