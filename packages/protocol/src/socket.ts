import { z } from 'zod';
import { boundedRecord, IdSchema, MAX_STORED_INTEGER, SeqSchema, textSchema } from './common.js';
import { ErrorBodySchema } from './errors.js';
import {
  AssistantTextDeltaEventSchema,
  AssistantTurnEndEventSchema,
  AssistantTurnStartEventSchema,
} from './assistant.js';
import { TurnEndStatusSchema, TurnErrorSchema } from './messages.js';
import { ConversationEventSchema, MemberTypingEventSchema, MyBlocksUpdatedEventSchema, MySettingsUpdatedEventSchema } from './events.js';

/** Most conversations one `hello` may name: thousands fit, a flood of keys is refused before any is parsed [PB1]. */
export const MAX_HELLO_POSITIONS = 20_000;

/** Frames a client sends on the event socket (`GET /api/socket`). */
export const ClientHelloFrameSchema = z.object({
  type: z.literal('hello'),
  protocolVersion: z.number().int().max(MAX_STORED_INTEGER),
  /**
   * The last sequence number the client holds per conversation. The server sends every event
   * after it, in order, before any newer live event of that conversation.
   */
  positions: boundedRecord(IdSchema, SeqSchema, MAX_HELLO_POSITIONS).default({}),
});
export const ClientPingFrameSchema = z.object({ type: z.literal('ping'), nonce: textSchema({ max: 64 }).optional() });
export const ClientTypingFrameSchema = z.object({ type: z.literal('typing'), conversationId: IdSchema });

/** A bot streams its answer's text over the socket (the hot path); HTTP has the same as `appendTurnDelta`. */
export const ClientTurnDeltaFrameSchema = z.object({
  type: z.literal('turn-delta'),
  conversationId: IdSchema,
  turnId: IdSchema,
  text: textSchema({ max: 16_000, min: 1 }),
});

/**
 * A bot ends the turn it streams on the same socket as its deltas, so the end comes after every
 * one of them: the answer is the text streamed. The server answers `turn-ended`, or an `error`
 * frame whose `details` name the turn and `frame: 'turn-end'`. HTTP has `endTurn`, with the text.
 */
export const ClientTurnEndFrameSchema = z.object({
  type: z.literal('turn-end'),
  conversationId: IdSchema,
  turnId: IdSchema,
  status: z.enum(['completed', 'stopped', 'failed']),
  error: TurnErrorSchema.optional(),
});

export const ClientFrameSchema = z.discriminatedUnion('type', [
  ClientHelloFrameSchema,
  ClientPingFrameSchema,
  ClientTypingFrameSchema,
  ClientTurnDeltaFrameSchema,
  ClientTurnEndFrameSchema,
]);
export type ClientFrame = z.input<typeof ClientFrameSchema>;

/** Frames the server sends. */
export const ServerWelcomeFrameSchema = z.object({
  type: z.literal('welcome'),
  protocolVersion: z.number().int(),
  userId: IdSchema,
  /** Every conversation the account is a member of, with its last sequence number. */
  conversations: z.array(z.object({ conversationId: IdSchema, lastSeq: SeqSchema })),
  /** Conversations named in `hello.positions` that the account is no longer a member of. */
  revoked: z.array(IdSchema),
});
export const ServerSyncedFrameSchema = z.object({
  type: z.literal('synced'),
  /** Events sent to catch up after `hello`. */
  replayed: z.number().int().min(0),
});
export const ServerEventFrameSchema = z.object({ type: z.literal('event'), event: ConversationEventSchema });
export const ServerPongFrameSchema = z.object({ type: z.literal('pong'), nonce: z.string().optional() });
/** To the bot alone: its `turn-end` frame ended the turn (or repeated the end that did). */
export const ServerTurnEndedFrameSchema = z.object({
  type: z.literal('turn-ended'),
  conversationId: IdSchema,
  turnId: IdSchema,
  status: TurnEndStatusSchema,
  /** The answer's message. */
  messageId: IdSchema,
});
export const ServerErrorFrameSchema = z.object({ type: z.literal('error'), error: ErrorBodySchema });

export const ServerFrameSchema = z.discriminatedUnion('type', [
  ServerWelcomeFrameSchema,
  ServerSyncedFrameSchema,
  ServerEventFrameSchema,
  MemberTypingEventSchema,
  MySettingsUpdatedEventSchema,
  MyBlocksUpdatedEventSchema,
  AssistantTurnStartEventSchema,
  AssistantTextDeltaEventSchema,
  AssistantTurnEndEventSchema,
  ServerPongFrameSchema,
  ServerTurnEndedFrameSchema,
  ServerErrorFrameSchema,
]);
export type ServerFrame = z.infer<typeof ServerFrameSchema>;
export type ServerFrameOf<T extends ServerFrame['type']> = Extract<ServerFrame, { type: T }>;

/** Close codes the server uses on the event socket. */
export const SOCKET_CLOSE = {
  /** The session ended (signed out or expired). */
  unauthenticated: 4401,
  /** The client speaks an unsupported protocol version. */
  unsupportedVersion: 4426,
  /** The client did not say hello in time. */
  helloTimeout: 4408,
  /** The server is shutting down; reconnect elsewhere or later. */
  goingAway: 1001,
  /** The client read too slowly and fell too far behind (WebSocket "try again later"); reconnect and resume. */
  tooSlow: 1013,
} as const;
