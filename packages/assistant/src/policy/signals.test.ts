import { describe, expect, it } from 'vitest';
import { acknowledgementOf, addressesGroup, hasQuestionMark, helpWords, isSubstantial, letterWeight } from './signals.js';

describe('signals', () => {
  it('[TT12] question marks of several scripts, not those inside a URL', () => {
    for (const text of ['when?', '¿cuándo', 'متى؟', '何時ですか？', 'wann denn ?']) expect(hasQuestionMark(text), text).toBe(true);
    expect(hasQuestionMark('see https://example.com/search?q=museum')).toBe(false);
    expect(hasQuestionMark('the museum opens at nine')).toBe(false);
  });

  it('[TT12] @everyone and group words address the group; a group word is reported, not decisive', () => {
    expect(addressesGroup('@everyone lunch at noon').token).toBe(true);
    expect(addressesGroup('write to everyone@example.com')).toEqual({ token: false, words: [] });
    expect(addressesGroup("Quelqu’un a une idée ?").words).toEqual(["quelqu'un"]);
    expect(addressesGroup('¿Alguien sabe?').words).toEqual(['alguien']);
    expect(addressesGroup('Weiß jemand Bescheid?').words).toEqual(['jemand']);
    expect(addressesGroup('誰か知ってる？').words).toEqual(['誰か']);
    expect(addressesGroup('Does anyone know?').words).toEqual(['anyone']);
    expect(addressesGroup('the museum opens at nine')).toEqual({ token: false, words: [] });
  });

  it('[TT10] short acknowledgements, thanks and greetings in several languages and scripts', () => {
    const cases: Record<string, string> = {
      ok: 'acknowledgement',
      'lol': 'acknowledgement',
      'hahaha': 'acknowledgement',
      'jajaja': 'acknowledgement',
      'ok 👍': 'acknowledgement',
      "d’accord": 'acknowledgement',
      'alles klar!': 'acknowledgement',
      '好的': 'acknowledgement',
      'thanks!': 'thanks',
      'merci beaucoup !': 'thanks',
      'gracias': 'thanks',
      'danke schön': 'thanks',
      'спасибо': 'thanks',
      'ありがとう': 'thanks',
      'شكرا': 'thanks',
      'hello everyone!': 'greeting',
      'Bonjour à tous': 'greeting',
      'hola': 'greeting',
      'guten Morgen': 'greeting',
      'привет': 'greeting',
      '👍': 'emoji',
      '😂😂': 'emoji',
      '!!!': 'emoji',
    };
    for (const [text, kind] of Object.entries(cases)) expect(acknowledgementOf(text)?.kind, text).toBe(kind);
  });

  it('[TT10] pure means nothing else is said', () => {
    expect(acknowledgementOf('thanks!')?.pure).toBe(true);
    expect(acknowledgementOf('hello everyone!')?.pure).toBe(true);
    expect(acknowledgementOf('hey Bob')).toEqual({ kind: 'greeting', pure: false });
  });

  it('[TT10] a question, a request for help or a longer message is no acknowledgement', () => {
    for (const text of ['ok?', 'ok, can you help', 'ok so we meet at the station at nine tomorrow', 'he is coming', 'the museum opens at nine', '']) {
      expect(acknowledgementOf(text), text).toBeNull();
    }
  });

  it('[TT13] substance counts letters, a letter of a script without spaces counting twice', () => {
    expect(letterWeight('why?')).toBe(3);
    expect(isSubstantial('really?')).toBe(false);
    expect(isSubstantial('what time is it?')).toBe(true);
    expect(isSubstantial('这是什么？')).toBe(true);
    expect(isSubstantial('本当？')).toBe(false);
  });

  it('[TT14] help words in several languages', () => {
    expect(helpWords('I need help with my bike')).toEqual(['help']);
    expect(helpWords("j'ai besoin d'un conseil")).toEqual(['conseil']);
    expect(helpWords('necesito ayuda')).toEqual(['ayuda']);
    expect(helpWords('ich brauche Hilfe')).toEqual(['hilfe']);
    expect(helpWords('推荐一家餐厅')).toEqual(['推荐']);
    expect(helpWords('we went to the beach')).toEqual([]);
  });
});
