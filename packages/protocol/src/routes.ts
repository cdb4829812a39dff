import { z } from 'zod';
import {
  AddMemberRequestSchema,
  ConversationListSchema,
  ConversationParamsSchema,
  ConversationViewSchema,
  CreateConversationRequestSchema,
  CreateInviteRequestSchema,
  ForkConversationRequestSchema,
  InviteListSchema,
  InviteParamsSchema,
  InvitePreviewSchema,
  InviteSchema,
  InviteTokenParamsSchema,
  JoinInviteRequestSchema,
  ListConversationsQuerySchema,
  MarkReadRequestSchema,
  MemberListSchema,
  MemberParamsSchema,
  MySettingsSchema,
  UpdateConversationRequestSchema,
  UpdateMySettingsRequestSchema,
} from './conversations.js';
import {
  AssistantBacklogQuerySchema,
  AssistantBacklogSchema,
  AssistantContextSchema,
  AssistantDecisionSchema,
  AssistantTurnSchema,
  DecisionListSchema,
  EndTurnRequestSchema,
  InstructionsSchema,
  UpdateInstructionsRequestSchema,
  ListDecisionsQuerySchema,
  ListTurnsQuerySchema,
  MemoryListSchema,
  MemoryParamsSchema,
  MemorySchema,
  MemoryTextSchema,
  RecordDecisionRequestSchema,
  StartTurnRequestSchema,
  SummarySchema,
  SaveSummaryRequestSchema,
  TurnDeltaRequestSchema,
  TurnListSchema,
  TurnParamsSchema,
} from './assistant.js';
import {
  AdminAppListSchema,
  AdminAppSchema,
  AppCallListSchema,
  AppCallParamsSchema,
  AppCallSchema,
  WidgetSessionSchema,
  AppListSchema,
  AppParamsSchema,
  CallAppToolRequestSchema,
  ConversationAppListSchema,
  ConversationAppParamsSchema,
  CreateAppRequestSchema,
  AppAuthorizationCallbackQuerySchema,
  AppAuthorizationSchema,
  DecideAppCallRequestSchema,
  EnabledAppSchema,
  StartAppAuthorizationRequestSchema,
  ReviewAppRequestSchema,
  SetConversationAppRequestSchema,
} from './apps.js';
import { EventPageSchema, ListEventsQuerySchema } from './events.js';
import {
  AttachmentParamsSchema,
  AttachmentSchema,
  EditMessageRequestSchema,
  ListMessagesQuerySchema,
  MessagePageSchema,
  MessageParamsSchema,
  MessageSchema,
  ReactionParamsSchema,
  SendMessageRequestSchema,
  UploadAttachmentQuerySchema,
} from './messages.js';
import {
  AvatarParamsSchema,
  BlockListSchema,
  ConfirmGuardianLinkRequestSchema,
  CreateGuardianLinkRequestSchema,
  CreateGuardianLinkResponseSchema,
  GuardianLinkListSchema,
  GuardianLinkParamsSchema,
  GuardianLinkSchema,
  MeSchema,
  SessionResponseSchema,
  SignInRequestSchema,
  SignUpRequestSchema,
  TeenControlsRequestSchema,
  UpdateMeRequestSchema,
  UserParamsSchema,
  UsernameParamsSchema,
  UserSummarySchema,
} from './users.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * One HTTP endpoint: the single definition the server validates with, the SDK calls through
 * and the OpenAPI document is generated from.
 */
export interface RouteDefinition {
  readonly method: HttpMethod;
  /** Path with `:name` parameters. */
  readonly path: string;
  readonly summary: string;
  readonly tag: string;
  /** `none`: public; `optional`: works signed out, says more signed in; `required`: needs a session. */
  readonly auth: 'none' | 'optional' | 'required';
  /**
   * `bot`: only a bot account may call it; a person is refused before the body is read [AS3].
   * `admin`: only an administrator may; anyone else is refused 403 before the body is read [AP1].
   */
  readonly caller?: 'bot' | 'admin';
  readonly params?: z.ZodType;
  readonly query?: z.ZodType;
  /** JSON body. */
  readonly body?: z.ZodType;
  /** A raw (binary) body instead of JSON, such as an upload. */
  readonly upload?: { readonly contentTypes: readonly string[]; readonly description: string };
  /**
   * JSON response, `null` for 204 No Content, `'binary'` for a file, `'redirect'` for a 303 See
   * Other that sends a browser on (to a page of the web client).
   */
  readonly response: z.ZodType | null | 'binary' | 'redirect';
  readonly status?: 200 | 201;
}

const define = <const T extends RouteDefinition>(route: T): T => route;

export const HealthSchema = z.object({ status: z.literal('ok'), protocolVersion: z.number().int() });

export const routes = {
  health: define({
    method: 'GET', path: '/api/health', tag: 'meta', auth: 'none', summary: 'Ready check: 200 once the node serves requests.',
    response: HealthSchema,
  }),

  // Accounts
  signUp: define({
    method: 'POST', path: '/api/auth/sign-up', tag: 'accounts', auth: 'none', status: 201,
    summary: 'Create an account and start a session (cookie for browsers, bearer token for programs).',
    body: SignUpRequestSchema, response: SessionResponseSchema,
  }),
  signIn: define({
    method: 'POST', path: '/api/auth/sign-in', tag: 'accounts', auth: 'none',
    summary: 'Start a session with username and password. Throttled after repeated failures.',
    body: SignInRequestSchema, response: SessionResponseSchema,
  }),
  signOut: define({
    method: 'POST', path: '/api/auth/sign-out', tag: 'accounts', auth: 'required',
    summary: 'End the current session; its open sockets are closed.', response: null,
  }),
  getMe: define({
    method: 'GET', path: '/api/me', tag: 'accounts', auth: 'required', summary: 'The signed-in account.', response: MeSchema,
  }),
  updateMe: define({
    method: 'PATCH', path: '/api/me', tag: 'accounts', auth: 'required',
    summary: 'Update the mini-profile: display name and username.', body: UpdateMeRequestSchema, response: MeSchema,
  }),
  uploadAvatar: define({
    method: 'PUT', path: '/api/me/avatar', tag: 'accounts', auth: 'required',
    summary: 'Upload an avatar image; it is re-encoded to a bounded square.',
    upload: { contentTypes: ['image/png', 'image/jpeg', 'image/webp', 'image/gif'], description: 'The image bytes.' },
    response: MeSchema,
  }),
  deleteAvatar: define({
    method: 'DELETE', path: '/api/me/avatar', tag: 'accounts', auth: 'required', summary: 'Remove the avatar.', response: MeSchema,
  }),
  getAvatar: define({
    method: 'GET', path: '/api/avatars/:avatarId', tag: 'accounts', auth: 'none',
    summary: 'An avatar image (WebP).', params: AvatarParamsSchema, response: 'binary',
  }),
  getUser: define({
    method: 'GET', path: '/api/users/:userId', tag: 'accounts', auth: 'required',
    summary: 'Another account, by id.', params: UserParamsSchema, response: UserSummarySchema,
  }),
  getUserByUsername: define({
    method: 'GET', path: '/api/users/by-username/:username', tag: 'accounts', auth: 'required',
    summary: 'Another account, by username.', params: UsernameParamsSchema, response: UserSummarySchema,
  }),

  // Blocking
  listBlocks: define({
    method: 'GET', path: '/api/blocks', tag: 'blocking', auth: 'required', summary: 'Accounts you blocked.', response: BlockListSchema,
  }),
  blockUser: define({
    method: 'PUT', path: '/api/blocks/:userId', tag: 'blocking', auth: 'required',
    summary: 'Block an account: it can no longer start a DM with you or add you to a group.',
    params: UserParamsSchema, response: null,
  }),
  unblockUser: define({
    method: 'DELETE', path: '/api/blocks/:userId', tag: 'blocking', auth: 'required',
    summary: 'Unblock an account.', params: UserParamsSchema, response: null,
  }),

  // Guardians
  listGuardianLinks: define({
    method: 'GET', path: '/api/guardian/links', tag: 'guardians', auth: 'required',
    summary: 'Your guardian links, as guardian and as teen.', response: GuardianLinkListSchema,
  }),
  createGuardianLink: define({
    method: 'POST', path: '/api/guardian/links', tag: 'guardians', auth: 'required', status: 201,
    summary: 'Ask to become the guardian of a teen account; returns a one-time code the teen confirms.',
    body: CreateGuardianLinkRequestSchema, response: CreateGuardianLinkResponseSchema,
  }),
  confirmGuardianLink: define({
    method: 'POST', path: '/api/guardian/confirm', tag: 'guardians', auth: 'required',
    summary: 'As the teen, confirm a guardian link with its one-time code.',
    body: ConfirmGuardianLinkRequestSchema, response: GuardianLinkSchema,
  }),
  updateTeenControls: define({
    method: 'PATCH', path: '/api/guardian/links/:linkId', tag: 'guardians', auth: 'required',
    summary: 'As the guardian, switch group chats on or off for the teen.',
    params: GuardianLinkParamsSchema, body: TeenControlsRequestSchema, response: GuardianLinkSchema,
  }),
  deleteGuardianLink: define({
    method: 'DELETE', path: '/api/guardian/links/:linkId', tag: 'guardians', auth: 'required',
    summary: 'As the guardian, end the link (or cancel a pending one).', params: GuardianLinkParamsSchema, response: null,
  }),

  // Conversations
  listConversations: define({
    method: 'GET', path: '/api/conversations', tag: 'conversations', auth: 'required',
    summary: 'Your conversations, newest activity first; filter by kind to list groups apart.',
    query: ListConversationsQuerySchema, response: ConversationListSchema,
  }),
  createConversation: define({
    method: 'POST', path: '/api/conversations', tag: 'conversations', auth: 'required', status: 201,
    summary: 'Start an assistant chat, a direct conversation (returns the existing one if any) or a group.',
    body: CreateConversationRequestSchema, response: ConversationViewSchema,
  }),
  getConversation: define({
    method: 'GET', path: '/api/conversations/:conversationId', tag: 'conversations', auth: 'required',
    summary: 'One conversation with its members and your settings.', params: ConversationParamsSchema,
    response: ConversationViewSchema,
  }),
  updateConversation: define({
    method: 'PATCH', path: '/api/conversations/:conversationId', tag: 'conversations', auth: 'required',
    summary: "Rename a group or change its assistant's name, personality and response mode.",
    params: ConversationParamsSchema, body: UpdateConversationRequestSchema, response: ConversationViewSchema,
  }),
  forkConversation: define({
    method: 'POST', path: '/api/conversations/:conversationId/fork', tag: 'conversations', auth: 'required', status: 201,
    summary: 'Start a new group from this conversation: its history so far is copied; the original is unchanged.',
    params: ConversationParamsSchema, body: ForkConversationRequestSchema, response: ConversationViewSchema,
  }),
  listEvents: define({
    method: 'GET', path: '/api/conversations/:conversationId/events', tag: 'conversations', auth: 'required',
    summary: "The conversation's event log after a sequence number, in order.",
    params: ConversationParamsSchema, query: ListEventsQuerySchema, response: EventPageSchema,
  }),
  listMembers: define({
    method: 'GET', path: '/api/conversations/:conversationId/members', tag: 'members', auth: 'required',
    summary: 'The member list.', params: ConversationParamsSchema, response: MemberListSchema,
  }),
  addMember: define({
    method: 'POST', path: '/api/conversations/:conversationId/members', tag: 'members', auth: 'required', status: 201,
    summary: 'Add someone to a group by username.', params: ConversationParamsSchema, body: AddMemberRequestSchema,
    response: MemberListSchema,
  }),
  removeMember: define({
    method: 'DELETE', path: '/api/conversations/:conversationId/members/:userId', tag: 'members', auth: 'required',
    summary: 'Remove another member from a group. The creator can never be removed.',
    params: MemberParamsSchema, response: null,
  }),
  leaveConversation: define({
    method: 'POST', path: '/api/conversations/:conversationId/leave', tag: 'members', auth: 'required',
    summary: 'Leave a group.', params: ConversationParamsSchema, response: null,
  }),
  updateMySettings: define({
    method: 'PATCH', path: '/api/conversations/:conversationId/settings', tag: 'members', auth: 'required',
    summary: 'Your notification setting for this conversation: all, mentions or muted.',
    params: ConversationParamsSchema, body: UpdateMySettingsRequestSchema, response: MySettingsSchema,
  }),
  markRead: define({
    method: 'POST', path: '/api/conversations/:conversationId/read', tag: 'members', auth: 'required',
    summary: 'Move your read marker forward to a sequence number.',
    params: ConversationParamsSchema, body: MarkReadRequestSchema, response: MySettingsSchema,
  }),
  sendTyping: define({
    method: 'POST', path: '/api/conversations/:conversationId/typing', tag: 'members', auth: 'required',
    summary: 'Tell the other members you are typing (ephemeral).', params: ConversationParamsSchema, response: null,
  }),

  // Invites
  listInvites: define({
    method: 'GET', path: '/api/conversations/:conversationId/invites', tag: 'invites', auth: 'required',
    summary: "A group's invite links.", params: ConversationParamsSchema, response: InviteListSchema,
  }),
  createInvite: define({
    method: 'POST', path: '/api/conversations/:conversationId/invites', tag: 'invites', auth: 'required', status: 201,
    summary: 'Create an invite link, with optional expiry and use limit. The token is shown only here.',
    params: ConversationParamsSchema, body: CreateInviteRequestSchema, response: InviteSchema,
  }),
  revokeInvite: define({
    method: 'DELETE', path: '/api/conversations/:conversationId/invites/:inviteId', tag: 'invites', auth: 'required',
    summary: 'Revoke an invite link.', params: InviteParamsSchema, response: null,
  }),
  previewInvite: define({
    method: 'GET', path: '/api/invites/:token', tag: 'invites', auth: 'required',
    summary: "What an invite link leads to: the group's name and size, and any members you blocked.",
    params: InviteTokenParamsSchema, response: InvitePreviewSchema,
  }),
  joinInvite: define({
    method: 'POST', path: '/api/invites/:token/join', tag: 'invites', auth: 'required',
    summary: 'Join the group of an invite link.', params: InviteTokenParamsSchema, body: JoinInviteRequestSchema,
    response: ConversationViewSchema,
  }),

  // Messages
  listMessages: define({
    method: 'GET', path: '/api/conversations/:conversationId/messages', tag: 'messages', auth: 'required',
    summary: 'History, newest page first; page back with `before`.',
    params: ConversationParamsSchema, query: ListMessagesQuerySchema, response: MessagePageSchema,
  }),
  sendMessage: define({
    method: 'POST', path: '/api/conversations/:conversationId/messages', tag: 'messages', auth: 'required', status: 201,
    summary: 'Send a message. Idempotent on the client-chosen `id`: a retry returns the same message.',
    params: ConversationParamsSchema, body: SendMessageRequestSchema, response: MessageSchema,
  }),
  editMessage: define({
    method: 'PATCH', path: '/api/conversations/:conversationId/messages/:messageId', tag: 'messages', auth: 'required',
    summary: 'Edit one of your messages.', params: MessageParamsSchema, body: EditMessageRequestSchema, response: MessageSchema,
  }),
  deleteMessage: define({
    method: 'DELETE', path: '/api/conversations/:conversationId/messages/:messageId', tag: 'messages', auth: 'required',
    summary: 'Delete one of your messages (a tombstone keeps its place).', params: MessageParamsSchema, response: null,
  }),
  addReaction: define({
    method: 'PUT', path: '/api/conversations/:conversationId/messages/:messageId/reactions/:emoji', tag: 'messages',
    auth: 'required', summary: 'React with an emoji (URL-encoded in the path).', params: ReactionParamsSchema, response: MessageSchema,
  }),
  removeReaction: define({
    method: 'DELETE', path: '/api/conversations/:conversationId/messages/:messageId/reactions/:emoji', tag: 'messages',
    auth: 'required', summary: 'Take back your reaction.', params: ReactionParamsSchema, response: MessageSchema,
  }),

  // Attachments
  uploadAttachment: define({
    method: 'POST', path: '/api/attachments', tag: 'attachments', auth: 'required', status: 201,
    summary: 'Upload a file (image, PDF or text) to attach to a message you send next.',
    query: UploadAttachmentQuerySchema,
    upload: {
      contentTypes: ['image/png', 'image/jpeg', 'image/webp', 'image/gif', 'application/pdf', 'text/plain', 'text/markdown', 'text/csv'],
      description: 'The file bytes; the type is sniffed from the content, not trusted from the header.',
    },
    response: AttachmentSchema,
  }),
  getAttachment: define({
    method: 'GET', path: '/api/attachments/:attachmentId', tag: 'attachments', auth: 'required',
    summary: 'Download an attachment you can see.', params: AttachmentParamsSchema, response: 'binary',
  }),

  // Personal memory and custom instructions: used only in one-to-one assistant conversations
  getInstructions: define({
    method: 'GET', path: '/api/me/instructions', tag: 'assistant', auth: 'required',
    summary: 'Your custom instructions for the assistant (one-to-one chats only).', response: InstructionsSchema,
  }),
  updateInstructions: define({
    method: 'PUT', path: '/api/me/instructions', tag: 'assistant', auth: 'required',
    summary: 'Set your custom instructions.', body: UpdateInstructionsRequestSchema, response: InstructionsSchema,
  }),
  listMemories: define({
    method: 'GET', path: '/api/me/memories', tag: 'assistant', auth: 'required',
    summary: 'What the assistant remembers about you (used in one-to-one chats only, never in groups).', response: MemoryListSchema,
  }),
  createMemory: define({
    method: 'POST', path: '/api/me/memories', tag: 'assistant', auth: 'required', status: 201,
    summary: 'Add a memory.', body: MemoryTextSchema, response: MemorySchema,
  }),
  updateMemory: define({
    method: 'PATCH', path: '/api/me/memories/:memoryId', tag: 'assistant', auth: 'required',
    summary: 'Edit a memory.', params: MemoryParamsSchema, body: MemoryTextSchema, response: MemorySchema,
  }),
  deleteMemory: define({
    method: 'DELETE', path: '/api/me/memories/:memoryId', tag: 'assistant', auth: 'required',
    summary: 'Forget a memory.', params: MemoryParamsSchema, response: null,
  }),

  // The assistant's turns, streamed to every member
  listTurns: define({
    method: 'GET', path: '/api/conversations/:conversationId/turns', tag: 'assistant', auth: 'required',
    summary: "The assistant's recent turns, newest first, with the text streamed so far for one in flight.",
    params: ConversationParamsSchema, query: ListTurnsQuerySchema, response: TurnListSchema,
  }),
  getTurn: define({
    method: 'GET', path: '/api/conversations/:conversationId/turns/:turnId', tag: 'assistant', auth: 'required',
    summary: "One of the assistant's turns: the message it answers, how it ended and the message holding the answer.",
    params: TurnParamsSchema, response: AssistantTurnSchema,
  }),
  startTurn: define({
    method: 'POST', path: '/api/conversations/:conversationId/turns', tag: 'assistant', auth: 'required', caller: 'bot', status: 201,
    summary: 'As a bot member, start streaming an answer. One turn in flight per conversation; charged to the trigger\'s author.',
    params: ConversationParamsSchema, body: StartTurnRequestSchema, response: AssistantTurnSchema,
  }),
  appendTurnDelta: define({
    method: 'POST', path: '/api/conversations/:conversationId/turns/:turnId/deltas', tag: 'assistant', auth: 'required', caller: 'bot',
    summary: 'As the bot streaming a turn, add text to it (the socket frame `turn-delta` does the same, faster).',
    params: TurnParamsSchema, body: TurnDeltaRequestSchema, response: null,
  }),
  endTurn: define({
    method: 'POST', path: '/api/conversations/:conversationId/turns/:turnId/end', tag: 'assistant', auth: 'required', caller: 'bot',
    summary: 'As the bot streaming a turn, end it: the answer becomes a message, with its end status.',
    params: TurnParamsSchema, body: EndTurnRequestSchema, response: AssistantTurnSchema,
  }),
  stopTurn: define({
    method: 'POST', path: '/api/conversations/:conversationId/turns/:turnId/stop', tag: 'assistant', auth: 'required',
    summary: 'As any member, stop the answer being streamed; what was streamed so far is kept, marked stopped.',
    params: TurnParamsSchema, response: AssistantTurnSchema,
  }),
  listDecisions: define({
    method: 'GET', path: '/api/conversations/:conversationId/assistant/decisions', tag: 'assistant', auth: 'required',
    summary: 'Why the assistant answered, reacted or kept quiet after each message, newest first.',
    params: ConversationParamsSchema, query: ListDecisionsQuerySchema, response: DecisionListSchema,
  }),
  recordDecision: define({
    method: 'POST', path: '/api/conversations/:conversationId/assistant/decisions', tag: 'assistant', auth: 'required', caller: 'bot', status: 201,
    summary: 'As a bot member, record a turn-taking decision and its reason.',
    params: ConversationParamsSchema, body: RecordDecisionRequestSchema, response: AssistantDecisionSchema,
  }),
  listAssistantBacklog: define({
    method: 'GET', path: '/api/assistant/backlog', tag: 'assistant', auth: 'required', caller: 'bot',
    summary: 'As a bot: the people\'s messages in its conversations it has not decided on yet, oldest first.',
    query: AssistantBacklogQuerySchema, response: AssistantBacklogSchema,
  }),
  getAssistantContext: define({
    method: 'GET', path: '/api/conversations/:conversationId/assistant/context', tag: 'assistant', auth: 'required', caller: 'bot',
    summary: 'As a bot member: the conversation, its content policy, its summary and, in a one-to-one chat only, its owner\'s instructions and memories.',
    params: ConversationParamsSchema, response: AssistantContextSchema,
  }),
  saveSummary: define({
    method: 'PUT', path: '/api/conversations/:conversationId/assistant/summary', tag: 'assistant', auth: 'required', caller: 'bot',
    summary: 'As a bot member, store the summary of older messages.',
    params: ConversationParamsSchema, body: SaveSummaryRequestSchema, response: SummarySchema,
  }),
  rememberForOwner: define({
    method: 'POST', path: '/api/conversations/:conversationId/assistant/memories', tag: 'assistant', auth: 'required', caller: 'bot', status: 201,
    summary: "As the bot in a one-to-one assistant chat, save a memory for its owner. Refused in any other conversation.",
    params: ConversationParamsSchema, body: MemoryTextSchema, response: MemorySchema,
  }),

  // Apps (MCP): the directory, for administrators [AP1]
  listAdminApps: define({
    method: 'GET', path: '/api/admin/apps', tag: 'apps', auth: 'required', caller: 'admin',
    summary: 'Every app of the directory, in review, approved or rejected, with its last listing.', response: AdminAppListSchema,
  }),
  createApp: define({
    method: 'POST', path: '/api/admin/apps', tag: 'apps', auth: 'required', caller: 'admin', status: 201,
    summary: 'Add an app (a remote MCP server URL, or a full local command): Parley connects, lists its tools and UI resources, and puts it in review.',
    body: CreateAppRequestSchema, response: AdminAppSchema,
  }),
  getAdminApp: define({
    method: 'GET', path: '/api/admin/apps/:appId', tag: 'apps', auth: 'required', caller: 'admin',
    summary: 'One app of the directory.', params: AppParamsSchema, response: AdminAppSchema,
  }),
  refreshApp: define({
    method: 'POST', path: '/api/admin/apps/:appId/refresh', tag: 'apps', auth: 'required', caller: 'admin',
    summary: 'Connect again and list the app\'s tools; an approved app whose tools changed goes back to review.',
    params: AppParamsSchema, response: AdminAppSchema,
  }),
  reviewApp: define({
    method: 'POST', path: '/api/admin/apps/:appId/review', tag: 'apps', auth: 'required', caller: 'admin',
    summary: 'Approve or reject the listing with the given hash (CONFLICT when the tools changed since it was read).',
    params: AppParamsSchema, body: ReviewAppRequestSchema, response: AdminAppSchema,
  }),
  deleteApp: define({
    method: 'DELETE', path: '/api/admin/apps/:appId', tag: 'apps', auth: 'required', caller: 'admin',
    summary: 'Remove an app from the directory; it is switched off everywhere.', params: AppParamsSchema, response: null,
  }),

  // Apps for members
  listApps: define({
    method: 'GET', path: '/api/apps', tag: 'apps', auth: 'required',
    summary: 'The approved apps, which any member may switch on for a conversation.', response: AppListSchema,
  }),
  listConversationApps: define({
    method: 'GET', path: '/api/conversations/:conversationId/apps', tag: 'apps', auth: 'required',
    summary: 'The apps switched on in a conversation.', params: ConversationParamsSchema, response: ConversationAppListSchema,
  }),
  setConversationApp: define({
    method: 'PUT', path: '/api/conversations/:conversationId/apps/:appId', tag: 'apps', auth: 'required',
    summary: 'Switch an approved app on or off for the conversation (an `app-enabled` or `app-disabled` event).',
    params: ConversationAppParamsSchema, body: SetConversationAppRequestSchema, response: z.object({ enabled: z.array(EnabledAppSchema) }),
  }),
  callAppTool: define({
    method: 'POST', path: '/api/conversations/:conversationId/apps/:appId/calls', tag: 'apps', auth: 'required', status: 201,
    summary: 'Call a tool of an enabled app: a read-only tool runs at once; any other call waits for its asker\'s confirmation.',
    params: ConversationAppParamsSchema, body: CallAppToolRequestSchema, response: AppCallSchema,
  }),
  listAppCalls: define({
    method: 'GET', path: '/api/conversations/:conversationId/app-calls', tag: 'apps', auth: 'required',
    summary: 'Every tool call of the conversation, oldest first: who asked, who approved, arguments, result size, duration.',
    params: ConversationParamsSchema, response: AppCallListSchema,
  }),
  getAppCall: define({
    method: 'GET', path: '/api/conversations/:conversationId/app-calls/:callId', tag: 'apps', auth: 'required',
    summary: 'One tool call, with its result once it ran.', params: AppCallParamsSchema, response: AppCallSchema,
  }),
  decideAppCall: define({
    method: 'POST', path: '/api/conversations/:conversationId/app-calls/:callId/decision', tag: 'apps', auth: 'required',
    summary: 'The asker approves a pending call (once, or this tool for the conversation) or denies it; anyone else is refused.',
    params: AppCallParamsSchema, body: DecideAppCallRequestSchema, response: AppCallSchema,
  }),
  startAppAuthorization: define({
    method: 'POST', path: '/api/apps/:appId/authorization', tag: 'apps', auth: 'required',
    summary: 'Start authorising an app that needs OAuth for you: the authorisation server\'s address to open (null when your tokens still work, or were refreshed).',
    params: AppParamsSchema, body: StartAppAuthorizationRequestSchema, response: AppAuthorizationSchema,
  }),
  appAuthorizationCallback: define({
    method: 'GET', path: '/api/app-authorization/callback', tag: 'apps', auth: 'required',
    summary: 'Where the authorisation server sends your browser back: the code is exchanged for your tokens, your calls waiting for them run, and you are sent back to the web client.',
    query: AppAuthorizationCallbackQuerySchema, response: 'redirect',
  }),
  deleteAppAuthorization: define({
    method: 'DELETE', path: '/api/apps/:appId/authorization', tag: 'apps', auth: 'required',
    summary: 'Disconnect: forget your tokens for an app (its later calls for you wait for a new authorisation).',
    params: AppParamsSchema, response: null,
  }),
  openWidget: define({
    method: 'POST', path: '/api/conversations/:conversationId/app-calls/:callId/widget', tag: 'apps', auth: 'required',
    summary: 'A ticket to show the widget of a tool call (its tool\'s `ui://` resource of the approved listing) on the separate widget origin.',
    params: AppCallParamsSchema, response: WidgetSessionSchema,
  }),
} as const;

export type Routes = typeof routes;
export type RouteName = keyof Routes;

type InputOf<S> = S extends z.ZodType ? z.input<S> : never;
// Not distributive (`[R]`): for one route it is the same, and for the union of all routes (what
// a generic caller's constraint is) it stays small instead of a union too complex to represent.
type Field<R, K extends string, Key extends string> = [R] extends [{ readonly [P in K]: infer S }]
  ? undefined extends InputOf<S>
    ? { [P in Key]?: InputOf<S> }
    : {} extends InputOf<S>
      ? { [P in Key]?: InputOf<S> }
      : { [P in Key]: InputOf<S> }
  : {};

/** What a caller passes to an endpoint: its path parameters, query and body. */
export type RouteInput<N extends RouteName> = Field<Routes[N], 'params', 'params'> &
  Field<Routes[N], 'query', 'query'> &
  Field<Routes[N], 'body', 'body'> &
  (Routes[N] extends { upload: object } ? { upload: { data: Uint8Array | Blob; contentType: string } } : {});

/** What an endpoint answers. */
export type RouteOutput<N extends RouteName> = Routes[N]['response'] extends z.ZodType
  ? z.infer<Routes[N]['response']>
  : Routes[N]['response'] extends 'binary'
    ? Uint8Array
    : void;

/** Fills a route's path parameters. */
export function buildPath(path: string, params: Record<string, unknown> | undefined): string {
  return path.replace(/:([A-Za-z]+)/g, (_match, name: string) => {
    const value = params?.[name];
    if (value === undefined || value === null) throw new Error(`missing path parameter ${name}`);
    return encodeURIComponent(String(value));
  });
}
