import type { NotificationLevel } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { bodyOf, shouldNotify, titleWithUnread, unreadTotal } from './rules.js';

const me = 'u-me';
const message = (authorId: string, mentions: string[] = [], deletedAt: string | null = null) => ({ authorId, mentions, deletedAt });

describe('desktop notification rules', () => {
  it('[WB66] the setting decides: all lets everything through, mentions only mentions, muted nothing', () => {
    const plain = message('u-bob');
    const mention = message('u-bob', [me]);
    const cases: [NotificationLevel, boolean, boolean][] = [
      ['all', true, true],
      ['mentions', false, true],
      ['muted', false, false],
    ];
    for (const [level, forPlain, forMention] of cases) {
      expect(shouldNotify({ message: plain, level, meId: me, onScreen: false }), `${level} plain`).toBe(forPlain);
      expect(shouldNotify({ message: mention, level, meId: me, onScreen: false }), `${level} mention`).toBe(forMention);
    }
  });

  it('[WB66] never for one’s own message, a deleted one, or the conversation on screen in a visible tab', () => {
    expect(shouldNotify({ message: message(me, [me]), level: 'all', meId: me, onScreen: false })).toBe(false);
    expect(shouldNotify({ message: message('u-bob', [], '2026-12-03T00:00:00Z'), level: 'all', meId: me, onScreen: false })).toBe(false);
    expect(shouldNotify({ message: message('u-bob', [me]), level: 'all', meId: me, onScreen: true })).toBe(false);
  });

  it('[WB67] the tab title counts unread messages of conversations not muted, and a muted one’s mentions', () => {
    const entry = (unread: number, mentions: number, notifications: NotificationLevel) => ({ unread, mentions, view: { me: { notifications } } });
    expect(unreadTotal([entry(2, 0, 'all'), entry(1, 1, 'mentions'), entry(5, 0, 'muted'), entry(4, 1, 'muted')])).toBe(4);
    expect(titleWithUnread(0)).toBe('Parley');
    expect(titleWithUnread(3)).toBe('(3) Parley');
    expect(titleWithUnread(12_000)).toBe('(999+) Parley');
  });

  it('[WB66] a notification’s text is the message on one line without markdown marks, cut short', () => {
    expect(bodyOf('**Look** at [this](https://example.com)\n\n```ts\nconst a = 1;\n```')).toBe('Look at this const a = 1;');
    expect(bodyOf('_Hi_ @cam_lee, see snake_case __now__')).toBe('Hi @cam_lee, see snake_case now');
    const long = bodyOf('word '.repeat(100));
    expect(long.length).toBe(180);
    expect(long.endsWith('…')).toBe(true);
  });
});
