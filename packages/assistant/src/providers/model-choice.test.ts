import { describe, expect, it } from 'vitest';
import { chooseModel, classifyTurn } from './model-choice.js';

const ruleOf = (text: string, attachmentCount?: number) => classifyTurn(attachmentCount === undefined ? { text } : { text, attachmentCount }).rule;

describe('auto model choice', () => {
  it('[MC0] light turns in any language: greetings, thanks, a short single question', () => {
    for (const text of [
      'thanks!',
      'merci beaucoup 🙏',
      'ok 👍',
      'Bonjour à tous',
      'What time is the train?',
      '¿Qué hora es?',
      'Guten Morgen, wie geht es?',
      'これは何ですか？',
      'J’arrive ; à tout à l’heure',
      'See you on 2025-05-12 at 10:30',
      'It costs $5, or $10 with the book',
      'Add 1/2 cup of sugar',
    ]) {
      expect(classifyTurn({ text }), text).toEqual({ hard: false, rule: 'MC0', reason: 'a light turn' });
    }
  });

  it('[MC1] code is hard', () => {
    for (const text of [
      'why does this fail?\n```ts\nconst x: number = "a";\n```',
      'should I use `map` or `forEach` here',
      'const total = items.reduce((sum, item) => sum + item.price, 0);',
      'I get TypeError: Cannot read properties of undefined',
      'at Object.<anonymous> (/app/index.js:12:5)',
      'def greet(name):',
    ]) {
      expect(ruleOf(text), text).toBe('MC1');
    }
  });

  it('[MC2] math is hard', () => {
    for (const text of ['what is 12*7', 'solve 3x + 2 = 11', 'derivative of x^2', 'is $\\frac{a}{b}$ simplified', '∫ sin(x) dx', 'combien font 120 / 7']) {
      expect(ruleOf(text), text).toBe('MC2');
    }
  });

  it('[MC3] several questions are hard, whatever the script', () => {
    for (const text of [
      'Where do we meet? And when?',
      'On se retrouve où ? Et à quelle heure ?',
      'どこで会う？何時？',
      'أين نلتقي؟ متى؟',
      'Ideas for the trip:\n- where to sleep\n- what to eat',
      'To decide:\n1. the date\n2. the place',
    ]) {
      expect(ruleOf(text), text).toBe('MC3');
    }
  });

  it('[MC3] a run of question marks is one question', () => {
    expect(ruleOf('really??')).toBe('MC0');
    expect(ruleOf('¿En serio?')).toBe('MC0');
  });

  it('[MC4] long messages are hard', () => {
    expect(ruleOf('word '.repeat(61))).toBe('MC4');
    expect(ruleOf('漢'.repeat(401))).toBe('MC4');
    expect(ruleOf('word '.repeat(59))).toBe('MC0');
  });

  it('[MC5] explicit requests for depth are hard, in several languages', () => {
    for (const text of [
      'Can you explain how vaccines work',
      'Peux-tu m’expliquer la photosynthèse',
      'Compare le train et l’avion pour Lyon',
      'Explícame la fotosíntesis',
      'Erkläre mir bitte die Inflation',
      'Spiegami come funziona',
      'Me mostra passo a passo',
      'Pourquoi le ciel est bleu',
      'Why is the sky blue',
    ]) {
      expect(ruleOf(text), text).toBe('MC5');
    }
  });

  it('[MC5] matches whole words only', () => {
    expect(ruleOf('Whyte street is closed')).toBe('MC0');
    expect(ruleOf('We drove through Warumbach')).toBe('MC0');
  });

  it('[MC6] attachments to read make a turn hard', () => {
    expect(ruleOf('look at this', 1)).toBe('MC6');
    expect(ruleOf('look at this', 0)).toBe('MC0');
  });

  it('chooseModel follows the configured choice', () => {
    expect(chooseModel('auto', { hard: true })).toBe('strong');
    expect(chooseModel('auto', { hard: false })).toBe('fast');
    expect(chooseModel('fast', { hard: true })).toBe('fast');
    expect(chooseModel('strong', { hard: false })).toBe('strong');
  });
});
