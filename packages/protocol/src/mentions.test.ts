import { describe, expect, it } from 'vitest';
import { mentionedUsernames, mentionSpans, withoutCode } from './mentions.js';

describe('mentionedUsernames', () => {
  it('finds @usernames in order, lower-cased, once each; an e-mail address is none', () => {
    expect(mentionedUsernames('@Bob and @ann, then @bob again; ann@example.com')).toEqual(['bob', 'ann']);
  });

  it('a mention inside inline code or a code block is code, not a mention', () => {
    expect(mentionedUsernames('run `ping @bob` now, @ann')).toEqual(['ann']);
    expect(mentionedUsernames('``a ` @bob``, @carol')).toEqual(['carol']);
    expect(mentionedUsernames('```\n@bob\n```\n@ann')).toEqual(['ann']);
    expect(mentionedUsernames('~~~ts\n@bob\n~~~\n@ann')).toEqual(['ann']);
    expect(mentionedUsernames('intro\n\n    @bob indented\n\n@ann')).toEqual(['ann']);
  });

  it('an unclosed backtick or fence leaves the rest as it would render', () => {
    // An unmatched backtick is a plain character: the mention after it counts.
    expect(mentionedUsernames('it costs 5` @bob')).toEqual(['bob']);
    // An unclosed fence runs to the end of the text, as markdown renders it.
    expect(mentionedUsernames('@ann\n```\n@bob')).toEqual(['ann']);
  });
});

describe('withoutCode', () => {
  it('keeps the length and the line breaks, so positions still match', () => {
    const text = 'a `b` c\n```\nd\n```\ne';
    const blanked = withoutCode(text);
    expect(blanked).toHaveLength(text.length);
    expect(blanked.split('\n')).toHaveLength(text.split('\n').length);
    expect(blanked).toBe('a     c\n   \n \n   \ne');
  });
});

describe('mentionSpans', () => {
  it('gives the offsets of each @name in plain text, by the same rule as mentionedUsernames', () => {
    const text = 'hi @Bob, mail ann@example.com or @ann_2';
    expect(mentionSpans(text)).toEqual([
      { start: 3, end: 7, username: 'bob' },
      { start: 33, end: 39, username: 'ann_2' },
    ]);
    expect(mentionSpans(text).map((span) => span.username)).toEqual(mentionedUsernames(text));
    expect(mentionSpans('@ab is too short')).toEqual([]);
  });
});
