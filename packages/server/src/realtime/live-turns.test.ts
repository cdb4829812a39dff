import { describe, expect, it } from 'vitest';
import { LiveTurns } from './live-turns.js';

const clock = { now: () => new Date(0) };
const start = (turnId: string, conversationId = `c-${turnId}`) => ({
  type: 'assistant-turn-start' as const,
  conversationId,
  turnId,
  userId: 'bot',
  triggerMessageId: null, triggeredBy: null,
  at: new Date(0).toISOString(),
});
const delta = (turnId: string, offset: number, text: string) => ({
  type: 'assistant-text-delta' as const,
  conversationId: `c-${turnId}`,
  turnId,
  offset,
  delta: text,
});

describe('[AT6] the turns in flight a node keeps from the bus', () => {
  it('places deltas by offset: a repeat or the echo of its own append changes nothing, a gap is not papered over', () => {
    const live = new LiveTurns({ clock });
    live.apply(start('t'));
    live.apply(delta('t', 0, 'Hello'));
    live.apply(delta('t', 0, 'Hello'));
    live.apply(delta('t', 3, 'lo, wor'));
    expect(live.get('t')?.text).toBe('Hello, wor');
    const turn = live.get('t')!;
    const offset = live.append(turn, 'ld');
    expect(offset).toBe(10);
    live.apply(delta('t', 10, 'ld'));
    live.apply(delta('t', 20, 'lost'));
    expect(live.get('t')?.text).toBe('Hello, world');
    // A start seen again keeps the text held.
    live.apply(start('t'));
    expect(live.inConversation('c-t')?.text).toBe('Hello, world');
  });

  it('drops a turn at its end, and holds a bounded number', () => {
    const live = new LiveTurns({ clock, maxTurns: 2 });
    live.apply(start('a'));
    live.apply(start('b'));
    live.apply(start('c'));
    expect([...live.all()].map((turn) => turn.turnId)).toEqual(['b', 'c']);
    expect(live.inConversation('c-a')).toBeUndefined();
    live.apply({ type: 'assistant-turn-end', conversationId: 'c-b', turnId: 'b', status: 'completed', messageId: 'm', error: null });
    expect(live.size).toBe(1);
    expect(live.inConversation('c-b')).toBeUndefined();
    // Deltas of a turn it does not hold are ignored.
    live.apply(delta('b', 0, 'late'));
    expect(live.get('b')).toBeUndefined();
  });
});
