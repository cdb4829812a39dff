import { describe, expect, it } from 'vitest';
import { addressedMembers, callsName, openingAddressees } from './addressing.js';
import { mentionsName, searchableText } from './mentions.js';
import type { PolicyMember } from './types.js';

describe('mentionsName', () => {
  it('[TT4] finds the name in any case, anywhere, as a whole word or @name', () => {
    for (const text of ['Sage, what time is it?', 'hey sage', 'what do you think SAGE', 'ask @Sage about it', 'I asked sAgE.', "Sage's idea is good", '(sage)', 'ok\nsage\nhelp']) {
      expect(mentionsName(text, 'Sage'), text).toBe(true);
    }
  });

  it('[TT4] a longer word, a hyphenated word, an e-mail address or a URL is no mention', () => {
    for (const text of [
      'Sagebrush grows here',
      'the sages of old',
      'a presage of rain',
      'write to sage@example.com',
      'write to sage.bot@example.com',
      'mail me: me@sage.io',
      'see https://sage.example.com/docs',
      'see www.sage.dev',
      'a Sage-like calm',
      'local part sage@host',
      'x@sage',
    ]) {
      expect(mentionsName(text, 'Sage'), text).toBe(false);
    }
  });

  it('[TT4] a name beside an e-mail address is still found', () => {
    expect(mentionsName('my address is sage@example.com, Sage — can you remember it?', 'Sage')).toBe(true);
  });

  it('[TT4] Unicode names: Zoë in any case, in decomposed form and without its accent', () => {
    expect(mentionsName('zoë, tu es là ?', 'Zoë')).toBe(true);
    expect(mentionsName('ZOË!', 'Zoë')).toBe(true);
    expect(mentionsName('Zoe\u0308 can you help', 'Zoë')).toBe(true);
    expect(mentionsName('Zoë can you help', 'Zoe\u0308')).toBe(true);
    expect(mentionsName('Zoe can you help', 'Zoë')).toBe(true);
    expect(mentionsName('Léo, tu peux ?', 'Leo')).toBe(true);
    expect(mentionsName('@jose ayúdame', 'José')).toBe(true);
    expect(mentionsName('Зоя, привет', 'ЗОЯ')).toBe(true);
    expect(mentionsName('Zoëlla is here', 'Zoë')).toBe(false);
    expect(mentionsName('Zoella is here', 'Zoë')).toBe(false);
  });

  it('[TT4] only Latin, Greek and Cyrillic accents are folded: the marks of other scripts spell other names', () => {
    // Devanagari: राम (Ram) and रमा (Rama) differ only by vowel signs.
    expect(mentionsName('रमा, मदद करो', 'राम')).toBe(false);
    expect(mentionsName('राम, मदद करो', 'राम')).toBe(true);
  });

  it('[TT4] names in scripts without spaces are found beside other characters', () => {
    expect(mentionsName('助手你好', '助手')).toBe(true);
    expect(mentionsName('你好，助手！', '助手')).toBe(true);
    expect(mentionsName('@助手 帮我看看', '助手')).toBe(true);
    expect(mentionsName('我们自己来', '助手')).toBe(false);
    expect(mentionsName('Привет, Мудрец!', 'мудрец')).toBe(true);
    expect(mentionsName('Мудрецы говорят', 'Мудрец')).toBe(false);
    expect(mentionsName('مرحبا حكيم', 'حكيم')).toBe(true);
  });

  it('[TT4] names with spaces match across any white space; names with punctuation are escaped', () => {
    expect(mentionsName('Ask Sage  Bot about it', 'Sage Bot')).toBe(true);
    expect(mentionsName('ask @sage\nbot', 'Sage Bot')).toBe(true);
    expect(mentionsName('Ask Sage about it', 'Sage Bot')).toBe(false);
    expect(mentionsName('hey R2.D2 ?', 'R2.D2')).toBe(true);
    expect(mentionsName('hey R2xD2 ?', 'R2.D2')).toBe(false);
    expect(mentionsName('what does (a+b) say', 'a+b')).toBe(true);
    expect(mentionsName('nothing here', '   ')).toBe(false);
  });

  it('[TT4] after a rename only the new name counts', () => {
    const text = 'Sage, are you there?';
    expect(mentionsName(text, 'Sage')).toBe(true);
    expect(mentionsName(text, 'Orbit')).toBe(false);
    expect(mentionsName('orbit, are you there?', 'Orbit')).toBe(true);
  });

  it('blanks URLs and e-mail addresses out of searchable text', () => {
    expect(searchableText('Mail ann@example.com or see https://x.io/a?b=1 now').replace(/\s+/g, ' ')).toBe('mail or see now');
  });
});

describe('addressing', () => {
  const bob: PolicyMember = { userId: 'u-bob', username: 'bob', displayName: 'Bob', kind: 'human' };
  const marie: PolicyMember = { userId: 'u-marie', username: 'marie_d', displayName: 'Marie Dupont', kind: 'human' };
  const ana: PolicyMember = { userId: 'u-ana', username: 'ana', displayName: 'Ana', kind: 'human' };
  const members = [bob, marie, ana];
  const addressed = (text: string, mentions: string[] = []) =>
    addressedMembers(text, members, new Set(), mentions).map((member) => member.userId);

  it('[TT7] finds vocatives and @mentions in several languages', () => {
    expect(addressed('Bob, can you bring the chairs?')).toEqual(['u-bob']);
    expect(addressed('@bob can you bring the chairs')).toEqual(['u-bob']);
    expect(addressed('Marie : tu viens ce soir ?')).toEqual(['u-marie']);
    expect(addressed('Salut Marie, tu viens ?')).toEqual(['u-marie']);
    expect(addressed('tu viens ce soir, Marie ?')).toEqual(['u-marie']);
    expect(addressed('@Marie Dupont tu viens ?')).toEqual(['u-marie']);
    expect(addressed('Hola Ana: ¿vienes mañana?')).toEqual(['u-ana']);
    expect(addressed('Ana, ¿vienes?')).toEqual(['u-ana']);
    expect(addressed('Hallo Bob! Kommst du heute?')).toEqual(['u-bob']);
    expect(addressed('Bob, Ana: who is driving?')).toEqual(['u-bob', 'u-ana']);
    expect(addressed('who is driving?', ['u-ana'])).toEqual(['u-ana']);
  });

  it('[TT7] a name said in passing or inside an address is not a vocative', () => {
    expect(addressed('Bob said the film starts at eight')).toEqual([]);
    expect(addressed('I saw Marie yesterday, she was fine')).toEqual([]);
    expect(addressed('write to bob@example.com please')).toEqual([]);
    expect(addressed('Bobby, come here')).toEqual([]);
  });

  it('[TT7] the opening names the addressees only when punctuation ends them', () => {
    const opening = (text: string) => openingAddressees(searchableText(text), members).map((member) => member.userId);
    expect(opening('Yo bob — ready?')).toEqual(['u-bob']);
    expect(opening('Bob and Ana, ready?')).toEqual(['u-bob', 'u-ana']);
    expect(opening('Bob and Ana are ready')).toEqual([]);
    expect(opening('Marie Dupont: ready?')).toEqual(['u-marie']);
    expect(callsName(searchableText('ready, bob?'), 'bob')).toBe(true);
    expect(callsName(searchableText('ready, bob? and then we go'), 'bob')).toBe(false);
  });
});
