import type { AssistantContext, Message } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { buildPrompt, PROMPT_LIMITS } from './build-prompt.js';
import { STANDARD_POLICY_TEXT, TEEN_POLICY_TEXT } from './content-policy.js';
import { assistantAccount, attachment, groupContext, memory, messageLog, oneToOneContext, person } from './fixtures.js';
import { estimateTokens, TOKEN_ESTIMATE, truncateToTokens } from './token-estimate.js';

const BUDGET = 8000;

describe('token estimate', () => {
  it('counts ASCII at four characters a token, any other character as one, plus 20%', () => {
    expect(estimateTokens('')).toBe(0);
    expect(estimateTokens('abcd'.repeat(10))).toBe(12);
    expect(estimateTokens('你好世界')).toBe(5);
    // One emoji is one character (a surrogate pair), not two.
    expect(estimateTokens('🦊')).toBe(estimateTokens('é'));
  });

  it('truncates to a token count without splitting a character, and marks the cut', () => {
    const text = '🦊'.repeat(100);
    const cut = truncateToTokens(text, 30);
    expect(estimateTokens(cut)).toBeLessThanOrEqual(30);
    expect(cut.endsWith(' […]')).toBe(true);
    expect(cut.slice(0, -4)).toBe('🦊'.repeat(cut.slice(0, -4).length / 2));
    expect(truncateToTokens('short', 30)).toBe('short');
  });
});

describe('buildPrompt in a group', () => {
  const bot = assistantAccount();
  const ann = person('ann', 'Ann');
  const bob = person('bob', null);
  const samOne = person('sam_one', 'Sam');
  const samTwo = person('sam_two', 'Sam');

  it('[CX1] prefixes each person\'s message with their display name, or @username without one, telling equal names apart', () => {
    const context = groupContext({ people: [ann, bob, samOne, samTwo], assistant: bot });
    const log = messageLog(context.conversation.id);
    const prompt = buildPrompt({
      context,
      assistantUserId: bot.id,
      budget: BUDGET,
      messages: [log.say(ann, 'Where do we eat?'), log.say(bob, 'Bouchon?'), log.say(samOne, 'Yes'), log.say(samTwo, 'Non, trop cher')],
    });
    expect(prompt.messages).toEqual([
      { role: 'user', content: 'Ann: Where do we eat?' },
      { role: 'user', content: '@bob: Bouchon?' },
      { role: 'user', content: 'Sam (@sam_one): Yes' },
      { role: 'user', content: 'Sam (@sam_two): Non, trop cher' },
    ]);
    expect(prompt.system).toContain('People in this group: Ann (@ann), @bob, Sam (@sam_one), Sam (@sam_two).');
    expect(prompt.system).not.toContain('parley_assistant');
  });

  it('[CX1] names authors who left through `people`, and says "a former member" otherwise', () => {
    const context = groupContext({ people: [ann], assistant: bot });
    const gone = person('gone', 'Gaston');
    const unknown = person('unknown', 'Ursula');
    const log = messageLog(context.conversation.id);
    const messages = [log.say(gone, 'bye'), log.say(unknown, 'hello?')];
    const prompt = buildPrompt({ context, assistantUserId: bot.id, budget: BUDGET, messages, people: [gone] });
    expect(prompt.messages.map((message) => message.content)).toEqual(['Gaston: bye', 'a former member: hello?']);
  });

  it('[CX1] says whom a reply answers, with a short quote', () => {
    const context = groupContext({ people: [ann, bob], assistant: bot });
    const log = messageLog(context.conversation.id);
    const question = log.say(ann, 'Train or car?');
    const answer = log.say(bot, `Train: it is faster. ${'x'.repeat(200)}`);
    const messages = [
      question,
      answer,
      log.say(bob, 'Train!', { replyToId: question.id }),
      log.say(ann, 'Thanks', { replyToId: answer.id }),
      log.say(bob, 'What?', { replyToId: 'message_not_loaded' }),
    ];
    const prompt = buildPrompt({ context, assistantUserId: bot.id, budget: BUDGET, messages });
    expect(prompt.messages.slice(2).map((message) => message.content)).toEqual([
      '@bob (replying to Ann: "Train or car?"): Train!',
      `Ann (replying to you: "Train: it is faster. ${'x'.repeat(59)}…"): Thanks`,
      '@bob (replying to an earlier message): What?',
    ]);
  });

  it('[CX2] its own messages become assistant turns, unnamed; the group\'s name and personality shape the system text', () => {
    const context = groupContext({
      people: [ann, bob],
      assistant: bot,
      conversation: { assistant: { name: 'Marvin', personality: 'Gloomy but helpful. Speaks like a butler.', mode: 'auto', talkativeness: 0.3 } },
    });
    const log = messageLog(context.conversation.id);
    const prompt = buildPrompt({
      context,
      assistantUserId: bot.id,
      budget: BUDGET,
      messages: [log.say(ann, '@marvin what time is it?'), log.say(bot, 'Time is an illusion.'), log.say(bob, 'lol')],
    });
    expect(prompt.messages).toEqual([
      { role: 'user', content: 'Ann: @marvin what time is it?' },
      { role: 'assistant', content: 'Time is an illusion.' },
      { role: 'user', content: '@bob: lol' },
    ]);
    expect(prompt.system).toMatch(/^You are Marvin, an AI assistant taking part in the group chat "Trip to Lyon"/);
    expect(prompt.system).toContain('Gloomy but helpful. Speaks like a butler.');
    expect(prompt.system).not.toContain('Pip');
  });

  it('[CX2] another bot is a speaker like a person, not the assistant', () => {
    const other = person('weather_bot', 'Weather', 'bot');
    const context = groupContext({ people: [ann, other], assistant: bot });
    const log = messageLog(context.conversation.id);
    const prompt = buildPrompt({ context, assistantUserId: bot.id, budget: BUDGET, messages: [log.say(other, 'Rain at 5pm')] });
    expect(prompt.messages).toEqual([{ role: 'user', content: 'Weather: Rain at 5pm' }]);
    expect(prompt.system).toContain('Weather (@weather_bot) (a bot)');
  });

  it('[CX3] the teen policy is in the system text when the content policy is teen, and only then', () => {
    const log = messageLog();
    const messages = [log.say(ann, 'hi')];
    const teen = buildPrompt({ context: groupContext({ people: [ann, bob], assistant: bot, contentPolicy: 'teen' }), assistantUserId: bot.id, budget: BUDGET, messages });
    const standard = buildPrompt({ context: groupContext({ people: [ann, bob], assistant: bot }), assistantUserId: bot.id, budget: BUDGET, messages });
    expect(teen.system).toContain(TEEN_POLICY_TEXT);
    expect(teen.system).toContain(STANDARD_POLICY_TEXT);
    expect(standard.system).toContain(STANDARD_POLICY_TEXT);
    expect(standard.system).not.toContain(TEEN_POLICY_TEXT);
    expect(standard.system).not.toContain('teen');
  });

  it('[CX5] skips deleted messages, counting them for nothing', () => {
    const context = groupContext({ people: [ann, bob], assistant: bot });
    const log = messageLog(context.conversation.id);
    const messages = [
      log.say(ann, 'keep me'),
      log.say(bob, '', { deletedAt: '2025-06-01T12:05:00.000Z' }),
      log.say(ann, 'and me'),
    ];
    const prompt = buildPrompt({ context, assistantUserId: bot.id, budget: BUDGET, messages });
    expect(prompt.messages.map((message) => message.content)).toEqual(['Ann: keep me', 'Ann: and me']);
    expect(prompt.omittedMessages).toBe(0);
  });

  it('[CX6] names attachments by filename and type, and marks answers that did not complete', () => {
    const context = groupContext({ people: [ann], assistant: bot });
    const log = messageLog(context.conversation.id);
    const turn = (status: 'stopped' | 'failed' | 'interrupted' | 'completed') => ({
      id: `turn_${status}`,
      status,
      error: status === 'failed' ? { code: 'provider_timeout', message: 'timed out', retryable: true } : null,
    });
    const messages = [
      log.say(ann, 'Here is the plan', { attachments: [attachment('plan.pdf', 'application/pdf'), attachment('map\nof lyon.png', 'image/png')] }),
      log.say(ann, '', { attachments: [attachment('notes.txt', 'text/plain')] }),
      log.say(bot, 'The plan says', { turn: turn('stopped') }),
      log.say(bot, '', { turn: turn('failed') }),
      log.say(bot, 'Half an', { turn: turn('interrupted') }),
      log.say(bot, 'Done.', { turn: turn('completed') }),
    ];
    const prompt = buildPrompt({ context, assistantUserId: bot.id, budget: BUDGET, messages });
    expect(prompt.messages).toEqual([
      { role: 'user', content: 'Ann: Here is the plan\n[attached: plan.pdf (application/pdf)]\n[attached: map of lyon.png (image/png)]' },
      { role: 'user', content: 'Ann: [attached: notes.txt (text/plain)]' },
      { role: 'assistant', content: 'The plan says\n[This answer was stopped by a member before it was finished.]' },
      { role: 'assistant', content: '[This answer failed before it was finished (provider_timeout).]' },
      { role: 'assistant', content: 'Half an\n[This answer was cut off by a server restart before it was finished.]' },
      { role: 'assistant', content: 'Done.' },
    ]);
  });

  it('[CX7][CX8] trims to the budget from the oldest end, keeps the newest unbroken, and carries the summary', () => {
    const summary = { text: 'Ann and Bob planned a trip to Lyon in May; hotel booked, trains still open.', uptoSeq: 40 };
    const context = groupContext({ people: [ann, bob], assistant: bot, summary });
    const log = messageLog(context.conversation.id, 41);
    const messages: Message[] = [];
    for (let index = 0; index < 300; index += 1) {
      messages.push(log.say(index % 2 ? ann : bob, `message number ${index} about trains, hotels and the museum of the cinema`));
      if (index % 7 === 0) log.skip(1);
    }
    const budget = 2000;
    const prompt = buildPrompt({ context, assistantUserId: bot.id, budget, messages });
    const kept = prompt.messages.length;
    expect(kept).toBeGreaterThan(10);
    expect(kept).toBeLessThan(300);
    expect(prompt.omittedMessages).toBe(300 - kept);
    // The newest, in order, without holes.
    const expected = messages.slice(-kept).map((message, index) => `${index % 2 === (300 - kept) % 2 ? '@bob' : 'Ann'}: ${message.text}`);
    expect(prompt.messages.map((message) => message.content)).toEqual(expected);
    expect(prompt.firstKeptSeq).toBe(messages.at(-kept)?.seq);
    expect(prompt.estimatedTokens).toBeLessThanOrEqual(budget);
    // The estimate is the sum of its parts, so the next older message would not have fitted.
    const parts = estimateTokens(prompt.system) + TOKEN_ESTIMATE.promptOverhead + prompt.messages.reduce((sum, message) => sum + estimateTokens(message.content) + TOKEN_ESTIMATE.messageOverhead, 0);
    expect(prompt.estimatedTokens).toBe(parts);
    const olderIndex = 300 - kept - 1;
    const older = `${olderIndex % 2 ? 'Ann' : '@bob'}: ${messages[olderIndex]?.text ?? ''}`;
    expect(parts + estimateTokens(older) + TOKEN_ESTIMATE.messageOverhead).toBeGreaterThan(budget);
    expect(prompt.system).toContain(`Summary of the earlier part of this conversation:\n${summary.text}`);

    // More budget, more of the same window.
    const larger = buildPrompt({ context, assistantUserId: bot.id, budget: 4000, messages });
    expect(larger.messages.length).toBeGreaterThan(kept);
    expect(larger.messages.slice(-kept)).toEqual(prompt.messages);
  });

  it('[CX7] cuts the newest message rather than leave it out, and stops there', () => {
    const context = groupContext({ people: [ann], assistant: bot });
    const log = messageLog(context.conversation.id);
    const huge = 'word '.repeat(2000);
    const prompt = buildPrompt({ context, assistantUserId: bot.id, budget: 1024, messages: [log.say(ann, 'before'), log.say(ann, huge)] });
    expect(prompt.messages).toHaveLength(1);
    expect(prompt.messages[0]?.content.startsWith('Ann: word word')).toBe(true);
    expect(prompt.messages[0]?.content.endsWith(' […]')).toBe(true);
    expect(prompt.estimatedTokens).toBeLessThanOrEqual(1024);
    expect(prompt.omittedMessages).toBe(1);
  });

  it('[CX7] caps the free-text settings so they cannot crowd out the conversation', () => {
    const summary = { text: 'resume '.repeat(3000), uptoSeq: 10 };
    const context = groupContext({
      people: [ann],
      assistant: bot,
      summary,
      conversation: { assistant: { name: 'Pip', personality: 'Very long personality. '.repeat(100), mode: 'auto', talkativeness: 0.5 } },
    });
    const log = messageLog(context.conversation.id, 11);
    const messages = Array.from({ length: 50 }, (_, index) => log.say(ann, `short message ${index}`));
    const prompt = buildPrompt({ context, assistantUserId: bot.id, budget: 4000, messages });
    expect(estimateTokens(prompt.system)).toBeLessThan(4000 * (PROMPT_LIMITS.summaryShare + PROMPT_LIMITS.personalityShare) + 400);
    expect(prompt.messages.length).toBeGreaterThan(20);
  });

  it('refuses a budget below the minimum', () => {
    const context = groupContext({ people: [ann], assistant: bot });
    expect(() => buildPrompt({ context, assistantUserId: bot.id, budget: 100, messages: [] })).toThrow(RangeError);
    expect(() => buildPrompt({ context, assistantUserId: bot.id, budget: Number.NaN, messages: [] })).toThrow(RangeError);
  });
});

describe('buildPrompt in a one-to-one assistant chat', () => {
  const bot = assistantAccount();
  const ann = person('ann', 'Ann');

  it('[CX4] uses the owner\'s custom instructions and memories, and names no one', () => {
    const context = oneToOneContext({
      owner: ann,
      assistant: bot,
      personal: {
        userId: ann.id,
        instructions: 'Answer in French. Keep it short.',
        memories: [memory('Is vegetarian', '2025-01-01T00:00:00.000Z'), memory('Lives in Lyon', '2025-05-01T00:00:00.000Z')],
      },
    });
    const log = messageLog(context.conversation.id);
    const prompt = buildPrompt({ context, assistantUserId: bot.id, budget: BUDGET, messages: [log.say(ann, 'Un restaurant ce soir ?'), log.say(bot, 'Oui !')] });
    expect(prompt.system).toMatch(/^You are Pip, the personal AI assistant of Ann, in a one-to-one chat with them\./);
    expect(prompt.system).toContain('Custom instructions from Ann:\nAnswer in French. Keep it short.');
    // The most recently updated memory first.
    expect(prompt.system).toContain('What you remember about Ann (facts saved earlier):\n- Lives in Lyon\n- Is vegetarian');
    expect(prompt.messages).toEqual([
      { role: 'user', content: 'Un restaurant ce soir ?' },
      { role: 'assistant', content: 'Oui !' },
    ]);
  });

  it('[CX4][CX7] keeps memories within their share of the budget, most recent first', () => {
    const memories = Array.from({ length: 400 }, (_, index) => memory(`fact number ${index} ${'detail '.repeat(20)}`, `2025-01-01T00:00:${String(index % 60).padStart(2, '0')}.${String(index).padStart(3, '0')}Z`));
    const context = oneToOneContext({ owner: ann, assistant: bot, personal: { userId: ann.id, instructions: '', memories } });
    const prompt = buildPrompt({ context, assistantUserId: bot.id, budget: 4000, messages: [messageLog().say(ann, 'hi')] });
    const lines = prompt.system.split('\n').filter((line) => line.startsWith('- fact number'));
    expect(lines.length).toBeGreaterThan(5);
    expect(lines.length).toBeLessThan(400);
    expect(lines.reduce((sum, line) => sum + estimateTokens(line) + 1, 0)).toBeLessThanOrEqual(4000 * PROMPT_LIMITS.memoriesShare);
    expect(prompt.system).not.toContain('Custom instructions');
    expect(prompt.messages).toEqual([{ role: 'user', content: 'hi' }]);
  });

  it('[CX4] ignores personal data that is not the owner\'s', () => {
    const eve = person('eve', 'Eve');
    const context = oneToOneContext({ owner: ann, assistant: bot, personal: { userId: eve.id, instructions: 'EVE-INSTRUCTIONS', memories: [memory('EVE-MEMORY')] } });
    const prompt = buildPrompt({ context, assistantUserId: bot.id, budget: BUDGET, messages: [messageLog().say(ann, 'hi')] });
    expect(JSON.stringify(prompt)).not.toMatch(/EVE-/);
  });
});

describe('privacy of the group prompt', () => {
  it('[CX4] contains no member\'s memory or custom instructions, byte for byte, even when a caller passes them', () => {
    const bot = assistantAccount();
    const people = [person('ann', 'Ann'), person('bob', 'Bob'), person('chloe', 'Chloé', 'human'), person('dev', null)];
    // Every member has instructions and memories, as they would on the server.
    const personalOf = people.map((user) => ({
      userId: user.id,
      instructions: `SECRET-INSTRUCTIONS-OF-${user.username}: always call me Captain and mention my diagnosis`,
      memories: [
        memory(`SECRET-MEMORY-1-OF-${user.username}: allergic to penicillin`),
        memory(`SECRET-MEMORY-2-OF-${user.username}: salary is 93,000`),
      ],
    }));
    const secrets = personalOf.flatMap((personal) => [personal.instructions, ...personal.memories.map((item) => item.text)]);
    // Distinctive pieces too, so that a paraphrase or a cut-off copy is caught as well as a whole one.
    const fragments = ['SECRET-', 'Captain', 'diagnosis', 'penicillin', 'salary', '93,000'];

    const group = groupContext({ people, assistant: bot, summary: { text: 'They talked about the weekend.', uptoSeq: 3 } });
    const log = messageLog(group.conversation.id, 4);
    const messages = [
      log.say(people[0] ?? bot, 'Shall we go hiking on Saturday?'),
      log.say(bot, 'Saturday looks sunny.'),
      log.say(people[1] ?? bot, '@pip what should we bring?'),
      log.say(people[3] ?? bot, 'Snacks', { attachments: [attachment('list.txt', 'text/plain')] }),
    ];
    const prompts = [
      buildPrompt({ context: group, assistantUserId: bot.id, budget: BUDGET, messages }),
      // Callers that get it wrong: personal data of each member forced into the group context,
      // as a server bug or a mixed-up context would hand it over.
      ...personalOf.map((personal) =>
        buildPrompt({ context: { ...group, personal } as unknown as typeof group, assistantUserId: bot.id, budget: BUDGET, messages }),
      ),
      // And the raw server value, untyped, as JSON would carry it.
      buildPrompt({ context: JSON.parse(JSON.stringify({ ...group, personal: personalOf[2] })) as AssistantContext as typeof group, assistantUserId: bot.id, budget: BUDGET, messages }),
    ];

    for (const prompt of prompts) {
      const whole = JSON.stringify(prompt);
      for (const secret of [...secrets, ...fragments]) expect(whole, secret).not.toContain(secret);
      // The group's own content is all there, and the same whatever was passed.
      expect(whole).toContain('Shall we go hiking on Saturday?');
      expect(whole).toContain('They talked about the weekend.');
      expect(prompt).toEqual(prompts[0]);
    }

    // The strings are findable: in each owner's own one-to-one chat they are in the prompt.
    for (const [index, personal] of personalOf.entries()) {
      const owner = people[index] ?? bot;
      const own = buildPrompt({ context: oneToOneContext({ owner, assistant: bot, personal }), assistantUserId: bot.id, budget: BUDGET, messages: [messageLog().say(owner, 'hi')] });
      for (const secret of [personal.instructions, ...personal.memories.map((item) => item.text)]) expect(JSON.stringify(own)).toContain(JSON.stringify(secret).slice(1, -1));
    }
  });

  it('[CX4] the type of a group context admits no personal data', () => {
    const bot = assistantAccount();
    const ann = person('ann', 'Ann');
    const group = groupContext({ people: [ann], assistant: bot });
    // @ts-expect-error personal is null in a group context: memory cannot be passed without a cast.
    const wrong: typeof group = { ...group, personal: { userId: ann.id, instructions: 'x', memories: [] } };
    expect(wrong.personal).not.toBeNull();
  });
});
