import type { AdminApp, App, AppCall, AppTool } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { backInReview, callState, changesThings, formatDuration, inputsOf, resultText, switchOnWarning } from './model.js';

const call = (change: Partial<AppCall>): AppCall => ({
  id: 'c1', conversationId: 'g1', appId: 'a1', appName: 'Weather', tool: 'delete_note', arguments: {}, status: 'pending',
  askedBy: 'u1', requestedBy: 'bot', turnId: null, readOnly: false, approval: null, decidedBy: null, decidedAt: null,
  result: null, isError: false, resultBytes: null, error: null, progress: null, durationMs: null, createdAt: '2026-12-03T10:00:00.000Z', endedAt: null,
  ...change,
});
const tool = (change: Partial<AppTool>): AppTool => ({
  name: 't', title: null, description: null, inputSchema: { type: 'object' }, outputSchema: null, annotations: {}, uiResourceUri: null, visibility: ['model', 'app'], ...change,
});

describe("the apps' screens, computed", () => {
  it('[WB70] a call confirmed too late shows as expired; a completed one as done', () => {
    expect(callState(call({ status: 'completed' }))).toBe('done');
    expect(callState(call({ status: 'failed', error: 'expired: the answer ended' }))).toBe('expired');
    expect(callState(call({ status: 'failed', error: 'cancelled: stopped' }))).toBe('failed');
    expect(callState(call({ status: 'denied' }))).toBe('denied');
  });

  it('[WB71] the result is its text parts as text, else its JSON; markup stays characters', () => {
    expect(resultText({ content: [{ type: 'text', text: '<b>hi</b>' }, { type: 'text', text: 'there' }] })).toBe('<b>hi</b>\nthere');
    const mixed = { content: [{ type: 'text', text: 'a' }, { type: 'image', data: 'xx', mimeType: 'image/png' }] };
    expect(JSON.parse(resultText(mixed))).toEqual(mixed);
    expect(resultText(null)).toBe('');
    expect(formatDuration(65, 'en')).toBe('65 ms');
    expect(formatDuration(1540, 'en')).toBe('1.5 sec');
    expect(formatDuration(1540, 'fr')).toMatch(/^1,5\ss$/);
  });

  it('[WB72] an app warns before switching on when the assistant may call a tool of it that is not read-only, or it acts with the member\'s own account', () => {
    const app = (tools: AppTool[], oauth = false): App => ({ id: 'a1', name: 'Weather', tools, uiResources: [], oauth, connected: false });
    const readOnly = tool({ annotations: { readOnlyHint: true } });
    expect(switchOnWarning(app([readOnly]))).toBeNull();
    expect(switchOnWarning(app([readOnly, tool({ annotations: { destructiveHint: true } })]))).toBe('writes');
    expect(changesThings(app([readOnly, tool({ annotations: { destructiveHint: true } })]))).toBe(true);
    // A tool of the widget alone is not the assistant's to call.
    expect(switchOnWarning(app([tool({ visibility: ['app'] })]))).toBeNull();
    // Read-only, but with each member's own account (say, their mail): still a warning, of its own.
    expect(switchOnWarning(app([readOnly], true))).toBe('reads');
    expect(changesThings(app([readOnly], true))).toBe(false);
    expect(switchOnWarning(app([readOnly, tool({})], true))).toBe('writes');
    expect(switchOnWarning(app([tool({ visibility: ['app'] })], true))).toBeNull();
  });

  it('[WB73] inputs from the schema; back in review only once approved before', () => {
    expect(inputsOf({ type: 'object', properties: { city: { type: 'string', description: 'Where' }, unit: { enum: ['c', 'f'] }, n: { type: ['integer', 'null'] } }, required: ['city'] })).toEqual([
      { name: 'city', type: 'string', required: true, description: 'Where' },
      { name: 'unit', type: '"c" | "f"', required: false, description: null },
      { name: 'n', type: 'integer | null', required: false, description: null },
    ]);
    expect(inputsOf({ type: 'object' })).toEqual([]);
    const listing = { protocolEra: 'modern' as const, server: null, instructions: null, tools: [], uiResources: [], hash: 'b'.repeat(64), listedAt: '2026-12-03T10:00:00.000Z' };
    const admin = (change: Partial<AdminApp>): AdminApp => ({
      id: 'a1', name: 'W', transport: 'http', url: 'http://x', command: null, status: 'review', listing, approvedHash: null, error: null, oauth: false,
      addedBy: 'u1', reviewedBy: null, reviewedAt: null, createdAt: '2026-12-03T10:00:00.000Z', ...change,
    });
    expect(backInReview(admin({}))).toBe(false);
    expect(backInReview(admin({ approvedHash: 'a'.repeat(64) }))).toBe(true);
    expect(backInReview(admin({ status: 'approved', approvedHash: 'b'.repeat(64) }))).toBe(false);
  });
});
