import type { AssistantSettings, ConversationKind, DecisionAction } from '@parley/protocol';

/** The numbered rules of SPEC.md. */
export const TURN_RULES = [
  'TT1',
  'TT2',
  'TT3',
  'TT4',
  'TT5',
  'TT6',
  'TT7',
  'TT8',
  'TT9',
  'TT10',
  'TT11',
  'TT12',
  'TT13',
  'TT14',
  'TT15',
  'TT16',
  'TT17',
  'TT18',
] as const;
export type TurnRule = (typeof TURN_RULES)[number];

export type PolicyMember = {
  userId: string;
  username: string;
  displayName: string | null;
  kind: 'human' | 'bot';
};

export type PolicyMessage = {
  id: string;
  authorId: string;
  text: string;
  replyToId: string | null;
  /** Author of the replied-to message, when the runtime knows it (it may lie outside the window). */
  replyToAuthorId?: string | null;
  /** Ids of the members mentioned with `@username`, as the server parsed them. */
  mentions?: readonly string[];
  /** ISO-8601 time the message was sent. */
  createdAt: string;
  /** Whether the assistant wrote it (its own user id as author means the same). */
  byAssistant?: boolean;
  /** For the assistant's own messages: the message it was answering. */
  triggerId?: string | null;
  deleted?: boolean;
};

/** What the fast model is asked: instructions apart from the conversation, which is data. */
export type ModelPrompt = { system: string; prompt: string };

export type ModelDecision = {
  action: DecisionAction;
  emoji?: string;
  /** 0 … 1: how sure the model is of its action. */
  confidence: number;
  reason: string;
};

/** The fast model, asked for a structured decision. It must stop when `signal` aborts. */
export type AskModel = (prompt: ModelPrompt, options: { signal: AbortSignal }) => Promise<ModelDecision>;

export type PolicyInput = {
  conversationKind: ConversationKind;
  settings: Pick<AssistantSettings, 'name' | 'mode' | 'talkativeness'>;
  assistantUserId: string;
  members: readonly PolicyMember[];
  /** The human message to decide on: the trigger. */
  message: PolicyMessage;
  /** Recent messages, oldest first: a bounded window that may hold the trigger and what came after it. */
  history: readonly PolicyMessage[];
  /** The clock's time, in milliseconds since the epoch. */
  now: number;
  /** Messages the assistant already answered (or is answering) or reacted to. */
  handledMessageIds?: readonly string[];
  askModel?: AskModel;
  /** How long to wait for `askModel` before staying silent. */
  modelTimeoutMs?: number;
  /** Waits `ms` (the model's time limit); injected so tests need no real time. Stops waiting when `signal` aborts. */
  wait?: (ms: number, signal: AbortSignal) => Promise<void>;
};

export type Decision = {
  action: DecisionAction;
  /** Set when `action` is `react`. */
  emoji?: string;
  /** Human-readable: why. */
  reason: string;
  /** The rule of SPEC.md that decided. */
  rule: TurnRule;
  /** Whether the fast model was asked. */
  usedModel: boolean;
  /** The model's confidence, when it was asked and answered. */
  confidence?: number;
  /** For a question left for people to answer: when (ms since the epoch) deciding again may change the outcome. */
  reconsiderAt?: number;
};
