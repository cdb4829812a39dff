import { z } from 'zod';
import { boundedArray, boundedString, ClientIdSchema, IdSchema, textSchema, TimestampSchema } from './common.js';

/**
 * Apps: MCP servers an administrator adds to the directory, reviews and approves; members switch
 * approved apps on per conversation, and the assistant (or a widget) calls their tools there,
 * under confirmation. Rules in packages/server/src/apps/SPEC.md.
 */

/** `review`: waiting for an administrator (new, or its tools changed since approval); only `approved` apps are offered. */
export const AppStatusSchema = z.enum(['review', 'approved', 'rejected']);
export type AppStatus = z.infer<typeof AppStatusSchema>;

/** Where `_meta.ui.visibility` lets a tool be seen: by the model, by the app's own widget, or both. */
export const ToolVisibilitySchema = z.enum(['model', 'app']);

/** The hints MCP defines for a tool; they describe it and never change how Parley runs it, but `readOnlyHint`. */
export const ToolAnnotationsSchema = z.object({
  title: z.string().optional(),
  readOnlyHint: z.boolean().optional(),
  destructiveHint: z.boolean().optional(),
  idempotentHint: z.boolean().optional(),
  openWorldHint: z.boolean().optional(),
});

/** One tool as the app lists it, kept for review. */
export const AppToolSchema = z
  .object({
    name: z.string(),
    title: z.string().nullable(),
    description: z.string().nullable(),
    inputSchema: z.record(z.string(), z.unknown()),
    outputSchema: z.record(z.string(), z.unknown()).nullable(),
    annotations: ToolAnnotationsSchema,
    /** The `ui://` resource its results render in (`_meta.ui.resourceUri`), if any. */
    uiResourceUri: z.string().nullable(),
    /** `_meta.ui.visibility`; both when the app says nothing. A tool without `model` is never offered to the assistant. */
    visibility: z.array(ToolVisibilitySchema),
  })
  .meta({ id: 'AppTool' });
export type AppTool = z.infer<typeof AppToolSchema>;

/** A `ui://` resource of the app (an MCP Apps widget), with its content, kept for review. */
export const AppUiResourceSchema = z
  .object({
    uri: z.string(),
    name: z.string().nullable(),
    mimeType: z.string().nullable(),
    /** The document (HTML); null when the app would not give it. */
    text: z.string().nullable(),
    /** The resource's `_meta.ui` (CSP domains, permissions, …) as the app declared it. */
    meta: z.record(z.string(), z.unknown()).nullable(),
  })
  .meta({ id: 'AppUiResource' });
export type AppUiResource = z.infer<typeof AppUiResourceSchema>;

/** What Parley found when it last connected to the app. */
export const AppListingSchema = z
  .object({
    /** `modern` (the stateless 2026 protocol) or `legacy` (the `initialize` handshake of 2025 servers). */
    protocolEra: z.enum(['modern', 'legacy']),
    server: z.object({ name: z.string(), version: z.string() }).nullable(),
    instructions: z.string().nullable(),
    tools: z.array(AppToolSchema),
    uiResources: z.array(AppUiResourceSchema),
    /** SHA-256 (hex) of the tools and UI resources: what an approval is bound to. */
    hash: z.string(),
    listedAt: TimestampSchema,
  })
  .meta({ id: 'AppListing' });
export type AppListing = z.infer<typeof AppListingSchema>;

export const AppTransportSchema = z.enum(['http', 'stdio']);

/** An app as administrators see it. */
export const AdminAppSchema = z
  .object({
    id: IdSchema,
    name: z.string(),
    transport: AppTransportSchema,
    /** The MCP endpoint of a remote (Streamable HTTP) app. */
    url: z.string().nullable(),
    /** The full command line of a local (stdio) app: the executable, then its arguments. */
    command: z.array(z.string()).nullable(),
    status: AppStatusSchema,
    /** The last listing; null when Parley could not connect yet. */
    listing: AppListingSchema.nullable(),
    /** The hash of the listing an administrator approved; the app goes back to review when a new listing differs. */
    approvedHash: z.string().nullable(),
    /** Why the last connection or listing failed. */
    error: z.string().nullable(),
    /** The app needs OAuth: each member (and an administrator, to list it) authorises Parley with the app's authorisation server. */
    oauth: z.boolean(),
    addedBy: IdSchema,
    reviewedBy: IdSchema.nullable(),
    reviewedAt: TimestampSchema.nullable(),
    createdAt: TimestampSchema,
  })
  .meta({ id: 'AdminApp' });
export type AdminApp = z.infer<typeof AdminAppSchema>;

export const AdminAppListSchema = z
  .object({
    apps: z.array(AdminAppSchema),
    /** Whether this server adds local (stdio) apps, which run a command on its machine: `PARLEY_APPS_STDIO=on` [AP30]. */
    localApps: z.boolean(),
  })
  .meta({ id: 'AdminAppList' });

/** An approved app as members see it: its tools, and nothing of how Parley reaches it. */
export const AppSchema = z
  .object({
    id: IdSchema,
    name: z.string(),
    tools: z.array(AppToolSchema),
    uiResources: z.array(AppUiResourceSchema.pick({ uri: true, name: true, mimeType: true })),
    /** Calls run with each member's own OAuth tokens: a member authorises the app once (`POST /api/apps/:appId/authorization`). */
    oauth: z.boolean(),
    /** For an app behind OAuth: whether you hold tokens for it (your calls run at once). False for any other app. */
    connected: z.boolean(),
  })
  .meta({ id: 'App' });
export type App = z.infer<typeof AppSchema>;

export const AppListSchema = z.object({ apps: z.array(AppSchema) }).meta({ id: 'AppList' });

/** An app switched on in a conversation. */
export const EnabledAppSchema = z
  .object({
    appId: IdSchema,
    name: z.string(),
    enabledBy: IdSchema,
    enabledAt: TimestampSchema,
  })
  .meta({ id: 'EnabledApp' });
export type EnabledApp = z.infer<typeof EnabledAppSchema>;

export const ConversationAppListSchema = z
  .object({
    /** The apps switched on, oldest first. */
    enabled: z.array(EnabledAppSchema),
    /** Each enabled app as members see it (an app back in review is listed in `enabled` but offered nowhere). */
    apps: z.array(AppSchema),
  })
  .meta({ id: 'ConversationAppList' });

const AppNameSchema = textSchema({ max: 80, trim: true, min: 1 });
/** An absolute http(s) URL. */
const AppUrlSchema = boundedString(2048).check(z.url({ protocol: /^https?$/ }));

export const CreateAppRequestSchema = z.union([
  z.object({ name: AppNameSchema, url: AppUrlSchema }),
  z.object({
    name: AppNameSchema,
    /** The full command: an absolute path to the executable, then its arguments. Needs `PARLEY_APPS_STDIO=on`. */
    command: boundedArray(boundedString(1024), 32),
  }),
]);

export const AppParamsSchema = z.object({ appId: IdSchema });
export const ConversationAppParamsSchema = z.object({ conversationId: IdSchema, appId: IdSchema });

export const ReviewAppRequestSchema = z.object({
  decision: z.enum(['approve', 'reject']),
  /** The listing hash the administrator reviewed: refused with CONFLICT when the app's tools changed since. */
  hash: boundedString(64).regex(/^[0-9a-f]{64}$/, 'must be a SHA-256 hex digest'),
});

export const SetConversationAppRequestSchema = z.object({ enabled: z.boolean() });

/**
 * `pending`: waiting for the asker's confirmation; `authorization`: the app needs OAuth and the
 * asker has not authorised it yet (the call runs once they do); `running`; then `completed` (the app answered,
 * perhaps with `isError`), `failed` (Parley could not get an answer; `error` says why, and begins
 * `cancelled:` when the answer that asked for it was stopped, `interrupted:` when the node running
 * it stopped, `expired:` when confirmed too late) or `denied`.
 */
export const AppCallStatusSchema = z.enum(['pending', 'authorization', 'running', 'completed', 'failed', 'denied']);
export type AppCallStatus = z.infer<typeof AppCallStatusSchema>;

/** A call not ended yet: waiting for its asker's confirmation or authorisation, or running. */
export function isAppCallWaiting(status: AppCallStatus): boolean {
  return status === 'pending' || status === 'authorization' || status === 'running';
}

/** How a call came to run: read-only at once, approved for this call, or by an approval for the conversation. */
export const AppCallApprovalSchema = z.enum(['read-only', 'once', 'conversation']);

/** The last progress an app reported for a running call (MCP `notifications/progress`), untrusted data. */
export const AppCallProgressSchema = z
  .object({
    progress: z.number(),
    /** The total the app expects, when it says. */
    total: z.number().nullable(),
    message: z.string().nullable(),
  })
  .meta({ id: 'AppCallProgress' });
export type AppCallProgress = z.infer<typeof AppCallProgressSchema>;

/** One call of an app's tool in a conversation: the confirmation card while pending, and its record after. */
export const AppCallSchema = z
  .object({
    id: IdSchema,
    conversationId: IdSchema,
    appId: IdSchema,
    appName: z.string(),
    tool: z.string(),
    arguments: z.record(z.string(), z.unknown()),
    status: AppCallStatusSchema,
    /** The member who asked: whose message started the assistant's turn, or who used the widget. Only they may confirm. */
    askedBy: IdSchema,
    /** The account that made the call (the assistant, or the member). */
    requestedBy: IdSchema,
    turnId: IdSchema.nullable(),
    readOnly: z.boolean(),
    approval: AppCallApprovalSchema.nullable(),
    decidedBy: IdSchema.nullable(),
    decidedAt: TimestampSchema.nullable(),
    /** The app's answer (an MCP `CallToolResult`), untrusted data. */
    result: z.record(z.string(), z.unknown()).nullable(),
    isError: z.boolean(),
    resultBytes: z.number().int().nullable(),
    error: z.string().nullable(),
    /** The last progress the app reported while the call ran (kept after it ends); null when it reported none. */
    progress: AppCallProgressSchema.nullable(),
    durationMs: z.number().int().nullable(),
    createdAt: TimestampSchema,
    endedAt: TimestampSchema.nullable(),
  })
  .meta({ id: 'AppCall' });
export type AppCall = z.infer<typeof AppCallSchema>;

export const AppCallListSchema = z.object({ calls: z.array(AppCallSchema) }).meta({ id: 'AppCallList' });

export const MAX_TOOL_ARGUMENTS_LENGTH = 32 * 1024;

export const CallAppToolRequestSchema = z.object({
  /** The caller's own id for the call: a retry with the same id returns the same call. */
  id: ClientIdSchema,
  tool: boundedString(128).min(1),
  /** The tool's arguments as JSON text of an object. */
  arguments: boundedString(MAX_TOOL_ARGUMENTS_LENGTH).default('{}'),
  /** For the assistant: the turn the call belongs to; its trigger's author is the one who confirms. */
  turnId: IdSchema.optional(),
});

export const AppCallParamsSchema = z.object({ conversationId: IdSchema, callId: IdSchema });

export const DecideAppCallRequestSchema = z.object({
  decision: z.enum(['approve-once', 'approve-conversation', 'deny']),
});

/** A path of the web client (`/…`, not `//…`): where the browser comes back to after authorising. */
const ReturnPathSchema = boundedString(1024).regex(/^\/(?![/\\])[^\s]*$/, 'must be a path of this site, such as /conversations/ID');

export const StartAppAuthorizationRequestSchema = z.object({
  /** Where the web client wants the browser back once the authorisation server answered. */
  returnTo: ReturnPathSchema.optional(),
});

export const AppAuthorizationSchema = z
  .object({
    /** The authorisation server's page to open; null when Parley already holds working tokens for you. */
    authorizationUrl: z.string().nullable(),
  })
  .meta({ id: 'AppAuthorization' });

/** What the authorisation server puts on the callback (RFC 6749 §4.1.2, RFC 9207 `iss`). */
export const AppAuthorizationCallbackQuerySchema = z.object({
  state: boundedString(512).min(1),
  code: boundedString(2048).min(1).optional(),
  iss: boundedString(2048).optional(),
  error: boundedString(256).optional(),
  error_description: boundedString(2048).optional(),
  error_uri: boundedString(2048).optional(),
});
/** The CSP domains a widget declared (`_meta.ui.csp`) that Parley applies to its document, after dropping any it refuses. */
export const WidgetCspSchema = z
  .object({
    connectDomains: z.array(z.string()),
    resourceDomains: z.array(z.string()),
    frameDomains: z.array(z.string()),
  })
  .meta({ id: 'WidgetCsp' });
export type WidgetCsp = z.infer<typeof WidgetCspSchema>;

/**
 * Where a member's browser loads the widget of a tool call (an MCP Apps `ui://` resource): a page on
 * the separate widget origin that holds the widget's document in a second, sandboxed frame. The
 * address is a ticket for this member, this conversation and the approved listing; it expires.
 */
export const WidgetSessionSchema = z
  .object({
    /** The outer frame's address, on the widget origin. */
    url: z.string(),
    /** The widget origin: the only origin the outer frame talks to the page from. */
    origin: z.string(),
    uri: z.string(),
    mimeType: z.string(),
    csp: WidgetCspSchema,
    /** `_meta.ui.prefersBorder` of the resource, when it says. */
    prefersBorder: z.boolean().nullable(),
    expiresAt: TimestampSchema,
  })
  .meta({ id: 'WidgetSession' });
export type WidgetSession = z.infer<typeof WidgetSessionSchema>;
