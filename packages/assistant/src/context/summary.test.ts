import type { Message } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { assistantAccount, groupContext, messageLog, person } from './fixtures.js';
import { needsSummary, SUMMARY_LIMITS, type SummaryRequest, summarise } from './summary.js';
import { estimateTokens } from './token-estimate.js';

const bot = assistantAccount();
const ann = person('ann', 'Ann');
const bob = person('bob', null);

function history(count: number, firstSeq = 1): Message[] {
  const log = messageLog('conversation_s', firstSeq);
  return Array.from({ length: count }, (_, index) => log.say(index % 5 === 4 ? bot : index % 2 ? ann : bob, `line ${index + firstSeq} of the talk`));
}

function recorder(reply: (request: SummaryRequest, call: number) => string = (_request, call) => `summary after call ${call}`) {
  const requests: SummaryRequest[] = [];
  return {
    requests,
    summarizer: async (request: SummaryRequest) => {
      requests.push(request);
      return reply(request, requests.length);
    },
  };
}

describe('needsSummary', () => {
  it('[CX9] asks for a summary only when enough older messages slid out of the window unsummarised', () => {
    expect(needsSummary({ summary: null, firstKeptSeq: 100, hasOlderMessages: false })).toBeNull();
    expect(needsSummary({ summary: null, firstKeptSeq: null, hasOlderMessages: true })).toBeNull();
    expect(needsSummary({ summary: null, firstKeptSeq: 100, hasOlderMessages: true })).toEqual({ afterSeq: 0, beforeSeq: 100 });
    const summary = { text: 'so far', uptoSeq: 500 };
    expect(needsSummary({ summary, firstKeptSeq: 500 + SUMMARY_LIMITS.minimumGap, hasOlderMessages: true })).toBeNull();
    expect(needsSummary({ summary, firstKeptSeq: 501 + SUMMARY_LIMITS.minimumGap, hasOlderMessages: true })).toEqual({
      afterSeq: 500,
      beforeSeq: 501 + SUMMARY_LIMITS.minimumGap,
    });
    expect(needsSummary({ summary, firstKeptSeq: 510, hasOlderMessages: true, minimumGap: 5 })).toEqual({ afterSeq: 500, beforeSeq: 510 });
    // A summary that already covers the window needs nothing.
    expect(needsSummary({ summary: { text: 'all', uptoSeq: 900 }, firstKeptSeq: 800, hasOlderMessages: true })).toBeNull();
  });
});

describe('summarise', () => {
  const context = groupContext({ people: [ann, bob], assistant: bot });

  it('[CX9] folds only the messages between the previous summary and the window, named, into the previous summary', async () => {
    const messages = history(120);
    const { requests, summarizer } = recorder();
    const summary = await summarise({
      context,
      assistantUserId: bot.id,
      messages,
      previous: { text: 'They chose Lyon.', uptoSeq: 30 },
      range: { afterSeq: 30, beforeSeq: 101 },
      summarizer,
    });
    expect(requests).toHaveLength(1);
    const [request] = requests;
    expect(request?.previousSummary).toBe('They chose Lyon.');
    const lines = request?.transcript.split('\n\n') ?? [];
    expect(lines).toHaveLength(70);
    expect(lines[0]).toBe('@bob: line 31 of the talk');
    expect(lines[1]).toBe('Ann: line 32 of the talk');
    expect(lines[4]).toBe('Pip (the assistant): line 35 of the talk');
    expect(lines.at(-1)).toBe('Pip (the assistant): line 100 of the talk');
    expect(request?.transcript).not.toContain('line 30 ');
    expect(request?.transcript).not.toContain('line 101 ');
    expect(request?.instructions).toContain('The assistant is called Pip.');
    expect(summary).toEqual({ text: 'summary after call 1', uptoSeq: 100 });
  });

  it('[CX9] works in chunks and stops after maxChunks, keeping the newest and saying that some were skipped', async () => {
    const messages = history(1000);
    const { requests, summarizer } = recorder((request, call) => `S${call}<${request.previousSummary ?? ''}>`);
    const summary = await summarise({
      context,
      assistantUserId: bot.id,
      messages,
      previous: { text: 'Old summary.', uptoSeq: 10 },
      range: { afterSeq: 10, beforeSeq: 950 },
      summarizer,
      chunkTokens: 200,
      maxChunks: 3,
    });
    expect(requests).toHaveLength(3);
    for (const request of requests) expect(estimateTokens(request.transcript)).toBeLessThanOrEqual(200 + 40);
    // Each call folds the one before it.
    expect(requests[0]?.previousSummary).toBe('Old summary.\n(Some messages after this point were too many to summarise and were skipped.)');
    expect(requests[1]?.previousSummary).toBe(`S1<${requests[0]?.previousSummary ?? ''}>`);
    expect(requests[2]?.previousSummary).toBe(`S2<${requests[1]?.previousSummary ?? ''}>`);
    // The newest chunks, ending right before the window.
    const transcript = requests.map((request) => request.transcript).join('\n\n').split('\n\n');
    expect(transcript.at(-1)).toBe('@bob: line 949 of the talk');
    const seqs = transcript.map((line) => Number(/line (\d+) /.exec(line)?.[1]));
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, index) => 950 - seqs.length + index));
    expect(seqs.length).toBeLessThan(200);
    expect(summary?.uptoSeq).toBe(949);
    expect(summary?.text.startsWith('S3<S2<S1<Old summary.')).toBe(true);
  });

  it('[CX9] says that messages were skipped when the loader could not reach back to the previous summary', async () => {
    const { requests, summarizer } = recorder();
    await summarise({ context, assistantUserId: bot.id, messages: history(20, 500), complete: false, previous: null, range: { afterSeq: 0, beforeSeq: 520 }, summarizer });
    expect(requests[0]?.previousSummary).toBe('(Some messages after this point were too many to summarise and were skipped.)');
  });

  it('skips deleted messages and has nothing to do without messages in the range', async () => {
    const log = messageLog('conversation_s', 1);
    const messages = [log.say(ann, 'gone', { deletedAt: '2025-06-01T12:00:00.000Z', text: '' }), log.say(ann, 'kept')];
    const first = recorder();
    expect(await summarise({ context, assistantUserId: bot.id, messages, previous: null, range: { afterSeq: 0, beforeSeq: 10 }, summarizer: first.summarizer })).toEqual({
      text: 'summary after call 1',
      uptoSeq: 9,
    });
    expect(first.requests[0]?.transcript).toBe('Ann: kept');
    const second = recorder();
    expect(await summarise({ context, assistantUserId: bot.id, messages: messages.slice(0, 1), previous: null, range: { afterSeq: 0, beforeSeq: 10 }, summarizer: second.summarizer })).toBeNull();
    expect(second.requests).toHaveLength(0);
  });

  it('treats the summarizer\'s answer as untrusted: cut to size, empty refused', async () => {
    const messages = history(10);
    const range = { afterSeq: 0, beforeSeq: 11 };
    const long = await summarise({ context, assistantUserId: bot.id, messages, previous: null, range, summarizer: async () => 'x'.repeat(50_000), maxCharacters: 1000 });
    expect(long?.text.length).toBe(1000);
    await expect(summarise({ context, assistantUserId: bot.id, messages, previous: null, range, summarizer: async () => '   ' })).rejects.toThrow(/empty/);
  });
});
