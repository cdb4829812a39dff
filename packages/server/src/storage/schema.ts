import type { Generated } from 'kysely';

/**
 * The tables, as Kysely sees them. One schema for SQLite and PostgreSQL: timestamps are ISO-8601
 * UTC text, booleans are 0/1 integers and JSON is text, so both backends store the same values.
 */
export interface Database {
  users: UsersTable;
  sessions: SessionsTable;
  blocks: BlocksTable;
  removals: RemovalsTable;
  guardian_links: GuardianLinksTable;
  conversations: ConversationsTable;
  members: MembersTable;
  messages: MessagesTable;
  reactions: ReactionsTable;
  attachments: AttachmentsTable;
  message_attachments: MessageAttachmentsTable;
  invites: InvitesTable;
  events: EventsTable;
  assistant_turns: AssistantTurnsTable;
  assistant_decisions: AssistantDecisionsTable;
  memories: MemoriesTable;
  user_instructions: UserInstructionsTable;
  conversation_summaries: ConversationSummariesTable;
  apps: AppsTable;
  conversation_apps: ConversationAppsTable;
  app_calls: AppCallsTable;
  app_call_grants: AppCallGrantsTable;
  app_oauth_clients: AppOAuthClientsTable;
  app_oauth_tokens: AppOAuthTokensTable;
  app_oauth_flows: AppOAuthFlowsTable;
  widget_tickets: WidgetTicketsTable;
}

export interface UsersTable {
  id: string;
  /** Lower case, unique. */
  username: string;
  display_name: string | null;
  password_hash: string;
  age_band: 'adult' | 'teen';
  kind: 'human' | 'bot';
  avatar_id: string | null;
  profile_complete: number;
  group_chats_allowed: number;
  /** 1: an administrator (the first account of an install, or made one with `parley admin add`). */
  admin: Generated<number>;
  created_at: string;
}

export interface SessionsTable {
  /** SHA-256 of the token: the token itself is never stored. */
  token_hash: string;
  user_id: string;
  kind: 'cookie' | 'token';
  created_at: string;
  expires_at: string;
}

export interface BlocksTable {
  blocker_id: string;
  blocked_id: string;
  created_at: string;
  /** JSON of the blocked account's UserSummary when blocked: what the blocker keeps seeing. Null: shown live. */
  profile_snapshot: string | null;
}

/** A person removed from a group by another member, until a member adds them back by username. */
export interface RemovalsTable {
  conversation_id: string;
  user_id: string;
  removed_by: string;
  removed_at: string;
}

export interface GuardianLinksTable {
  id: string;
  guardian_id: string;
  teen_id: string;
  status: 'pending' | 'active';
  code_hash: string | null;
  code_expires_at: string | null;
  code_attempts: number;
  created_at: string;
  confirmed_at: string | null;
}

export interface ConversationsTable {
  id: string;
  kind: 'assistant' | 'direct' | 'group';
  title: string | null;
  created_by: string;
  created_at: string;
  /** Time of the last event: orders the conversation list. */
  updated_at: string;
  /** The last sequence number given out; the next event takes last_seq + 1. */
  last_seq: number;
  member_limit: number;
  assistant_name: string | null;
  assistant_personality: string | null;
  assistant_mode: 'auto' | 'mentions' | null;
  assistant_talkativeness: number | null;
  forked_from_id: string | null;
  forked_from_seq: number | null;
  /** For direct conversations: the two user ids, sorted and joined, so a pair has one DM. */
  direct_key: string | null;
}

export interface MembersTable {
  conversation_id: string;
  user_id: string;
  role: 'creator' | 'member' | 'assistant';
  joined_at: string;
  last_read_seq: number;
  notifications: 'all' | 'mentions' | 'muted';
}

export interface MessagesTable {
  id: string;
  conversation_id: string;
  seq: number;
  author_id: string;
  text: string;
  /** JSON array of user ids. */
  mentions: string;
  reply_to_id: string | null;
  created_at: string;
  edited_at: string | null;
  deleted_at: string | null;
  /** For an answer of the assistant: its turn, how the turn ended, and the TurnError as JSON. */
  turn_id: string | null;
  turn_status: 'completed' | 'stopped' | 'failed' | 'interrupted' | null;
  turn_error: string | null;
}

export interface ReactionsTable {
  message_id: string;
  user_id: string;
  emoji: string;
  created_at: string;
  seq: number;
}

export interface AttachmentsTable {
  id: string;
  uploader_id: string;
  filename: string;
  content_type: string;
  size: number;
  sha256: string;
  created_at: string;
}

export interface MessageAttachmentsTable {
  message_id: string;
  attachment_id: string;
  conversation_id: string;
  position: number;
}

export interface InvitesTable {
  id: string;
  conversation_id: string;
  token_hash: string;
  created_by: string;
  created_at: string;
  expires_at: string | null;
  max_uses: number | null;
  uses: number;
  revoked_at: string | null;
}

export interface EventsTable {
  conversation_id: string;
  seq: number;
  type: string;
  /** The whole event as JSON, exactly as it is sent to clients. */
  payload: string;
  created_at: string;
}

/** One streamed answer of an assistant (a bot member). See ../assistant/SPEC.md. */
export interface AssistantTurnsTable {
  /** Chosen by the bot: starting a turn twice with one id is a no-op. */
  id: string;
  conversation_id: string;
  trigger_message_id: string | null;
  /** The trigger's author, whose assistant rate limit paid for the turn. */
  charged_user_id: string | null;
  bot_id: string;
  status: 'streaming' | 'completed' | 'stopped' | 'failed' | 'interrupted';
  model: string | null;
  /** The text so far: saved every ~500 ms while streaming, whole once ended. */
  text: string;
  started_at: string;
  ended_at: string | null;
  /** The message holding the answer, once ended. */
  message_id: string | null;
  /** TurnError as JSON. */
  error: string | null;
  last_delta_at: string;
  /** Who ended it: the bot (endTurn), a member (stopTurn), or null for the server (timeout, restart). */
  ended_by: string | null;
  /** 1, 2, 3… within the conversation, in the order the turns started. */
  ordinal: number;
  /** The node holding it while it streams (the last to save its text); null for turns from before migration 006. */
  node_id: string | null;
}

export interface AssistantDecisionsTable {
  /** Sortable: decisions are listed in id order. */
  id: string;
  conversation_id: string;
  message_id: string;
  bot_id: string;
  action: 'answer' | 'react' | 'silent';
  reason: string;
  rule: string | null;
  emoji: string | null;
  model: string | null;
  created_at: string;
}

/** What the assistant remembers about a person: used only in that person's one-to-one chats. */
export interface MemoriesTable {
  /** Sortable: memories are listed in id order. */
  id: string;
  user_id: string;
  text: string;
  source: 'user' | 'assistant';
  created_at: string;
  updated_at: string;
}

export interface UserInstructionsTable {
  user_id: string;
  text: string;
  updated_at: string;
}

export interface ConversationSummariesTable {
  conversation_id: string;
  text: string;
  /** The summary covers the messages up to this sequence number. */
  upto_seq: number;
  updated_at: string;
}

/** An app (MCP server) of the directory. See ../apps/SPEC.md. */
export interface AppsTable {
  id: string;
  name: string;
  transport: 'http' | 'stdio';
  url: string | null;
  /** JSON array: the executable, then its arguments. */
  command: string | null;
  status: 'review' | 'approved' | 'rejected';
  /** JSON of the last AppListing. */
  listing: string | null;
  listing_hash: string | null;
  /** The listing hash an administrator approved. */
  approved_hash: string | null;
  error: string | null;
  added_by: string;
  reviewed_by: string | null;
  reviewed_at: string | null;
  created_at: string;
  updated_at: string;
  /** 1 when the app answered 401: each member authorises it with OAuth [AP16]. */
  oauth: Generated<number>;
}

export interface ConversationAppsTable {
  conversation_id: string;
  app_id: string;
  enabled_by: string;
  enabled_at: string;
}

export interface AppCallsTable {
  id: string;
  /** The caller's own id for the call (idempotency). */
  client_id: string;
  conversation_id: string;
  app_id: string;
  app_name: string;
  tool: string;
  /** JSON object. */
  arguments: string;
  status: 'pending' | 'authorization' | 'running' | 'completed' | 'failed' | 'denied';
  asked_by: string;
  requested_by: string;
  turn_id: string | null;
  read_only: number;
  approval: 'read-only' | 'once' | 'conversation' | null;
  decided_by: string | null;
  decided_at: string | null;
  /** JSON of the CallToolResult. */
  result: string | null;
  is_error: number;
  result_bytes: number | null;
  error: string | null;
  duration_ms: number | null;
  created_at: string;
  ended_at: string | null;
  ordinal: number;
  /** The node running the call (set when it starts running): a node starting again fails its own [AP15]. */
  node_id: string | null;
  /** Past this, a call still running is failed by any node: its node died [AP15]. */
  lease_until: string | null;
  /** JSON of the last progress the app reported [AP12]. */
  progress: string | null;
}

export interface AppCallGrantsTable {
  conversation_id: string;
  app_id: string;
  tool: string;
  user_id: string;
  granted_at: string;
}

/** The OAuth client Parley registered (RFC 7591) with one authorisation server for one app, sealed [AP16]. */
export interface AppOAuthClientsTable {
  app_id: string;
  issuer: string;
  sealed: string;
  created_at: string;
}

/** One member's tokens for one app and authorisation server, sealed with AES-256-GCM [AP16]. */
export interface AppOAuthTokensTable {
  app_id: string;
  user_id: string;
  issuer: string;
  /** The RFC 8707 resource the tokens are for (the app's URL). */
  resource: string;
  sealed: string;
  updated_at: string;
}

/** An authorisation under way: found by the SHA-256 of its `state`, used once, bound to the session that started it [AP17]. */
export interface AppOAuthFlowsTable {
  state_hash: string;
  app_id: string;
  user_id: string;
  session_id: string;
  /** Sealed JSON: the PKCE code verifier and the discovery state (issuer, metadata). */
  sealed: string;
  /** The web client's path to come back to. */
  return_to: string | null;
  created_at: string;
  expires_at: string;
}

/** A member's ticket to a tool call's widget on the widget origin (apps/SPEC.md [AP20]). */
export interface WidgetTicketsTable {
  /** SHA-256 of the ticket in the widget's address. */
  token_hash: string;
  user_id: string;
  conversation_id: string;
  app_id: string;
  call_id: string;
  uri: string;
  /** The approved listing the widget comes from: served only while it is still the approved one. */
  listing_hash: string;
  /** The page's origin that asked (the Origin of the request): the only one that may frame the widget. */
  host_origin: string;
  created_at: string;
  expires_at: string;
}

export type { Generated };
