import { addressedMembers, openingHandle } from './addressing.js';
import { callOf, unquoted } from './calls.js';
import { mentionsName } from './mentions.js';
import { DEFAULT_MODEL_TIMEOUT_MS, askWithin, buildDecisionPrompt } from './model.js';
import { isQuietRequest } from './quiet.js';
import { acknowledgementOf, addressesGroup, hasQuestionMark, helpWords, isSubstantial } from './signals.js';
import type { Decision, PolicyInput, PolicyMember, PolicyMessage, TurnRule } from './types.js';

/** Talkativeness from which a question to the group is answered at once [TT12]. */
export const GROUP_QUESTION_TALKATIVENESS = 1 / 3;
/** Talkativeness from which a plain remark is put to the model [TT14]. */
export const REMARK_TALKATIVENESS = 2 / 3;
/** How long a request to be quiet holds it back from speaking unprompted [TT18]. */
export const QUIET_HOLD_MS = 30 * 60_000;
/** The reaction that acknowledges a request to be quiet [TT17]. */
export const QUIET_EMOJI = '🤐';

/** How long a question is left to people before the assistant offers help [TT13]. */
export function unansweredWaitMs(talkativeness: number): number {
  return 60_000 + (1 - clamp(talkativeness)) * 240_000;
}

/** The model's confidence needed for each action [TT15]: a quiet assistant needs a surer model. */
export function requiredConfidence(action: 'answer' | 'react', talkativeness: number): number {
  const t = clamp(talkativeness);
  return round(action === 'answer' ? 0.85 - 0.5 * t : 0.7 - 0.4 * t);
}

/**
 * Decides what the assistant does after one human message: answer, react or stay silent, with
 * the rule of SPEC.md that decided and why. Pure but for `askModel`, which is asked only when no
 * rule decides, and whose failure means silence.
 */
export async function decide(input: PolicyInput): Promise<Decision> {
  const { message, settings, assistantUserId } = input;
  const t = clamp(settings.talkativeness);
  const members = new Map(input.members.map((member) => [member.userId, member]));
  const isAssistant = (candidate: PolicyMessage) => candidate.byAssistant === true || candidate.authorId === assistantUserId;
  const isPerson = (candidate: PolicyMessage) => !isAssistant(candidate) && members.get(candidate.authorId)?.kind !== 'bot';
  const author = members.get(message.authorId);

  // [TT1]
  if (input.conversationKind === 'direct') return silent('TT1', 'a direct conversation has no assistant');
  if (isAssistant(message)) return silent('TT1', 'the message is its own');
  if (author?.kind === 'bot') return silent('TT1', `${nameOf(author)} is a bot`);
  if (message.deleted) return silent('TT1', 'the message was deleted');

  // [TT2]
  const handled = new Set(input.handledMessageIds ?? []);
  if (handled.has(message.id) || input.history.some((candidate) => isAssistant(candidate) && candidate.triggerId === message.id)) {
    return silent('TT2', 'it already acted on this message');
  }

  const call = (candidate: PolicyMessage) =>
    callOf({ text: candidate.text, name: settings.name, mentions: candidate.mentions ?? [], assistantUserId, members: input.members });
  const repliesToAssistant = (candidate: PolicyMessage) => {
    if (candidate.replyToId === null) return false;
    const repliedTo = input.history.find((other) => other.id === candidate.replyToId);
    return (candidate.replyToAuthorId ?? repliedTo?.authorId) === assistantUserId || (repliedTo !== undefined && isAssistant(repliedTo));
  };
  const called = call(message);
  const { before, after } = surroundings(input);
  const previous = before.at(-1);
  const followsAssistant = previous !== undefined && isAssistant(previous);
  const opensWithOtherHandle = (candidate: PolicyMessage) => {
    const handle = openingHandle(candidate.text);
    return handle !== null && !addressesGroup(`@${handle}`).token && !call({ ...candidate, text: `@${handle}` });
  };
  const addressesOthers = (candidate: PolicyMessage) =>
    opensWithOtherHandle(candidate) ||
    addressedMembers(candidate.text, input.members, new Set([assistantUserId, candidate.authorId]), candidate.mentions ?? []).some(
      (member) => member.userId !== assistantUserId,
    );
  /** How a request to be quiet was said to the assistant [TT17], or null when it was not one or not to it. */
  const quietRequestTo = (candidate: PolicyMessage, previousOne: PolicyMessage | undefined): string | null => {
    if (!isQuietRequest(candidate.text, settings.name)) return null;
    if (input.conversationKind === 'assistant') return 'in a one-to-one conversation';
    if (call(candidate)) return 'calling it by name';
    // The whole message is the request and the name (`chut Sage !`): said to it.
    if (mentionsName(unquoted(candidate.text), settings.name)) return 'naming it';
    if (repliesToAssistant(candidate)) return 'in reply to its message';
    if (previousOne !== undefined && isAssistant(previousOne) && !addressesOthers(candidate)) return 'right after its message';
    return null;
  };

  // [TT17]
  const quiet = quietRequestTo(message, previous);
  if (quiet) return react('TT17', QUIET_EMOJI, `asked to be quiet, ${quiet}: acknowledged, not answered`);

  // [TT3]
  if (input.conversationKind === 'assistant') return answer('TT3', 'every message of a one-to-one conversation is answered');

  // [TT4]
  if (called) return answer('TT4', called);

  // [TT5]
  const replyToAuthorId = message.replyToAuthorId ?? input.history.find((candidate) => candidate.id === message.replyToId)?.authorId ?? null;
  if (repliesToAssistant(message)) return answer('TT5', 'the message replies to one of its messages');

  // [TT6]
  if (settings.mode === 'mentions') return silent('TT6', 'mode "mentions" and it was neither mentioned nor replied to');

  // [TT7] Only `@everyone` and the like outweigh a name: a group word (`alle`, `anyone`) beside
  // `Bob, …` is more likely said to Bob.
  const group = addressesGroup(message.text);
  const addressesEveryone = group.token || group.words.length > 0;
  if (!group.token) {
    const addressees = addressedMembers(
      message.text,
      input.members,
      new Set([assistantUserId, message.authorId]),
      message.mentions ?? [],
    ).filter((member) => member.userId !== assistantUserId);
    if (addressees.length > 0) return silent('TT7', `the message addresses ${addressees.map(nameOf).join(', ')}, not the assistant`);
    if (opensWithOtherHandle(message)) return silent('TT7', `the message opens with @${openingHandle(message.text)}, not the assistant`);
    if (replyToAuthorId !== null && replyToAuthorId !== message.authorId && replyToAuthorId !== assistantUserId) {
      const other = members.get(replyToAuthorId);
      return silent('TT7', `the message replies to ${other ? nameOf(other) : 'another person'}`);
    }
  }

  // [TT18] A request to be quiet holds until someone calls it again (it then speaks, so its own
  // message in the window ends the search) or the hold runs out.
  for (let index = before.length - 1; index >= 0; index -= 1) {
    const earlier = before[index]!;
    if (isAssistant(earlier) || input.now - Date.parse(earlier.createdAt) > QUIET_HOLD_MS) break;
    if (!isPerson(earlier)) continue;
    if (quietRequestTo(earlier, before[index - 1])) {
      return silent('TT18', `asked to be quiet ${seconds(input.now - Date.parse(earlier.createdAt))} ago and not called since`);
    }
    if (call(earlier) || repliesToAssistant(earlier)) break;
  }

  // [TT8], [TT9]
  const answeredBy = [...before, ...after].find(
    (candidate) =>
      isPerson(candidate) && candidate.authorId !== message.authorId && (candidate.replyToId === message.id || after.includes(candidate)),
  );
  if (answeredBy) {
    const person = members.get(answeredBy.authorId);
    return silent('TT8', `${person ? nameOf(person) : 'another person'} already answered`);
  }
  const latest = after.at(-1);
  if (latest && isAssistant(latest)) return silent('TT9', 'it spoke last and was not asked again');

  // Cheap signals.

  // [TT10]
  const acknowledgement = acknowledgementOf(message.text);
  if (acknowledgement) {
    if (acknowledgement.pure && followsAssistant && t >= 0.2 && (acknowledgement.kind === 'thanks' || acknowledgement.kind === 'acknowledgement')) {
      return react('TT10', '👍', `${acknowledgement.kind} right after its message`);
    }
    if (acknowledgement.pure && acknowledgement.kind === 'greeting' && t >= 0.5) return react('TT10', '👋', 'a greeting');
    return silent('TT10', acknowledgement.kind === 'emoji' ? 'emoji only' : `a short ${acknowledgement.kind}`);
  }

  const question = hasQuestionMark(message.text);
  // [TT11]
  if (question && followsAssistant && previous && answeredAuthorOf(previous, input.history) === message.authorId) {
    return answer('TT11', 'a follow-up question to its answer, by the person it answered');
  }

  const substantialQuestion = question && isSubstantial(message.text);
  const waitMs = unansweredWaitMs(t);
  const sentAt = Date.parse(message.createdAt);
  const dueAt = Number.isFinite(sentAt) ? sentAt + waitMs : input.now;
  const unansweredFor = Math.max(0, input.now - (Number.isFinite(sentAt) ? sentAt : input.now));

  if (substantialQuestion) {
    // [TT13]
    if (input.now >= dueAt) {
      return answer('TT13', `a question left unanswered for ${seconds(unansweredFor)} (waits ${seconds(waitMs)} at talkativeness ${t.toFixed(2)})`);
    }
    // [TT12]
    if (addressesEveryone) {
      if (t >= GROUP_QUESTION_TALKATIVENESS) return answer('TT12', 'a question to the whole group');
      return { ...silent('TT12', `a question to the whole group, left to people for ${seconds(waitMs)} at talkativeness ${t.toFixed(2)}`), reconsiderAt: dueAt };
    }
  }

  // [TT14]
  const help = helpWords(message.text);
  const signals: string[] = [];
  if (substantialQuestion) signals.push(`a question, unanswered for ${seconds(unansweredFor)}`);
  else if (question) signals.push('a short question');
  if (addressesEveryone) signals.push('addresses the group');
  if (followsAssistant) signals.push("comes right after the assistant's message");
  if (help.length > 0) signals.push(`asks for help (${help.join(', ')})`);
  if (!substantialQuestion && !addressesEveryone && !followsAssistant && help.length === 0 && t < REMARK_TALKATIVENESS) {
    return silent('TT14', question ? 'a short question in passing between people' : 'people talking among themselves');
  }

  // [TT15], [TT16]
  return consultModel(input, t, before, signals, substantialQuestion ? dueAt : undefined);
}

async function consultModel(
  input: PolicyInput,
  t: number,
  before: readonly PolicyMessage[],
  signals: readonly string[],
  reconsiderAt: number | undefined,
): Promise<Decision> {
  const later = reconsiderAt === undefined ? {} : { reconsiderAt };
  if (!input.askModel) return { ...silent('TT16', 'unclear, and no fast model is configured to decide'), ...later };
  const timeoutMs = input.modelTimeoutMs ?? DEFAULT_MODEL_TIMEOUT_MS;
  const outcome = await askWithin(input.askModel, buildDecisionPrompt(input, before, signals), timeoutMs, input.wait);
  switch (outcome.kind) {
    case 'failed':
      return { ...silent('TT16', `the fast model failed (${outcome.message})`, true), ...later };
    case 'timeout':
      return { ...silent('TT16', `the fast model gave no decision within ${outcome.ms} ms`, true), ...later };
    case 'malformed':
      return { ...silent('TT16', `the fast model's reply was malformed (${outcome.message})`, true), ...later };
    case 'decision':
      break;
  }
  const { decision } = outcome;
  const said = decision.reason ? `: ${decision.reason}` : '';
  const weighed = (action: 'answer' | 'react') =>
    `confidence ${round(decision.confidence)} ${decision.confidence >= requiredConfidence(action, t) ? '≥' : '<'} ${requiredConfidence(action, t)} needed at talkativeness ${t.toFixed(2)}`;
  const base = { rule: 'TT15' as const, usedModel: true, confidence: decision.confidence };
  if (decision.action === 'answer' && decision.confidence >= requiredConfidence('answer', t)) {
    return { ...base, action: 'answer', reason: `the fast model says answer (${weighed('answer')})${said}` };
  }
  if (decision.action === 'react' && decision.emoji && decision.confidence >= requiredConfidence('react', t)) {
    return { ...base, action: 'react', emoji: decision.emoji, reason: `the fast model says react ${decision.emoji} (${weighed('react')})${said}` };
  }
  const reason =
    decision.action === 'silent'
      ? `the fast model says silent${said}`
      : `the fast model says ${decision.action} but not surely enough (${weighed(decision.action)})${said}`;
  return { ...base, action: 'silent', reason, ...later };
}

/** The window's messages before and after the trigger (deleted ones left out), oldest first. */
function surroundings(input: PolicyInput): { before: PolicyMessage[]; after: PolicyMessage[] } {
  const { history, message } = input;
  const index = history.findIndex((candidate) => candidate.id === message.id);
  const live = (candidate: PolicyMessage) => !candidate.deleted && candidate.id !== message.id;
  if (index >= 0) return { before: history.slice(0, index).filter(live), after: history.slice(index + 1).filter(live) };
  // The trigger is outside the window: place the others by time (a tie counts as before).
  const sentAt = Date.parse(message.createdAt);
  const isAfter = (candidate: PolicyMessage) => Date.parse(candidate.createdAt) > sentAt;
  return {
    before: history.filter((candidate) => live(candidate) && !isAfter(candidate)),
    after: history.filter((candidate) => live(candidate) && isAfter(candidate)),
  };
}

/** Whom an assistant message was answering: the author of its trigger or of the message it replied to. */
function answeredAuthorOf(assistantMessage: PolicyMessage, history: readonly PolicyMessage[]): string | null {
  const answeredId = assistantMessage.triggerId ?? assistantMessage.replyToId;
  if (!answeredId) return null;
  if (assistantMessage.replyToId === answeredId && assistantMessage.replyToAuthorId) return assistantMessage.replyToAuthorId;
  return history.find((candidate) => candidate.id === answeredId)?.authorId ?? null;
}

function answer(rule: TurnRule, reason: string): Decision {
  return { action: 'answer', reason, rule, usedModel: false };
}

function react(rule: TurnRule, emoji: string, reason: string): Decision {
  return { action: 'react', emoji, reason, rule, usedModel: false };
}

function silent(rule: TurnRule, reason: string, usedModel = false): Decision {
  return { action: 'silent', reason, rule, usedModel };
}

function nameOf(member: PolicyMember): string {
  return member.displayName ?? `@${member.username}`;
}

function seconds(ms: number): string {
  return `${Math.round(ms / 1000)} s`;
}

function clamp(value: number): number {
  return Number.isFinite(value) ? Math.min(1, Math.max(0, value)) : 0.5;
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
