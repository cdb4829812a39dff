import { foldAccents, normalizeName, normalizeText } from './mentions.js';

/*
 * A request to the assistant to be quiet [TT17]: a short message that is only that request
 * (`stop answering`, `Sage, be quiet please`, `tais-toi`, `chut !`, `arrête de répondre stp`).
 * The phrases are matched on the whole message once the assistant's name, `@`, punctuation and
 * polite filler are taken off, so `stop the music` or `je ne peux pas me taire` are no request.
 */

const PHRASES = [
  // English
  'stop', 'stop it', 'stop now', 'stop that', 'just stop', 'you can stop', 'please stop',
  'stop (?:answering|responding|replying|talking|interrupting|chiming in|commenting|butting in)',
  '(?:be|keep|stay) quiet', 'quiet', 'shut up', 'shush', 'hush', 'sh+', 'zip it', 'pipe down', 'silence', 'mute',
  "(?:that's |that is )?enough", 'not you', '(?:nobody|no one|no-one) asked(?: you)?', 'stay out of (?:this|it)',
  'go away', 'leave us alone', "(?:don't|do not|dont) (?:answer|respond|reply|interrupt)(?: this| that)?",
  "we (?:don't|do not|dont) need you", 'nobody was talking to you', 'i was not talking to you', "i wasn't talking to you",
  // French (accents folded)
  'tais[- ]toi', 'taisez[- ]vous', 'chu+t+', 'silence', 'arrete', 'arretez', 'arrete (?:ca|tout)', 'stop',
  "arrete(?:z)? d(?:e |')(?:repondre|parler|intervenir|commenter|te meler|insister)", 'ca suffit', 'pas toi',
  "(?:on|personne) (?:ne )?t'a (?:rien )?demande(?: ton avis)?", "(?:on|personne) (?:ne )?vous a (?:rien )?demande",
  'laisse[- ]nous(?: tranquilles?)?', '(?:ne )?reponds? pas', "(?:ne )?(?:te|vous) mele[sz]? pas de (?:ca|cela|ca la)",
  'mele[- ]toi de tes affaires', 'la ferme', 'ferme[- ]la', 'tu peux arreter', 'je ne te parlais pas', "je te parlais pas",
  "c'est pas a toi", "ce n'est pas a toi",
];
const FILLER = [
  'please', 'pls', 'plz', 'just', 'ok', 'okay', 'now', 'right now', 'for now', 'thanks', 'thank you', 'already', 'seriously', 'hey', 'oh',
  'stp', 'svp', "s'il te plait", "s'il vous plait", 'maintenant', 'merci', 'deja', 'pour l\'instant', 'allez', 'bon', 'eh', 'oh la',
];
const alternatives = (items: readonly string[]) => items.map((item) => foldAccents(normalizeText(item))).join('|');
const REQUEST = new RegExp(`^(?:(?:${alternatives(FILLER)}) )*(?:${alternatives(PHRASES)})(?: (?:${alternatives(FILLER)}))*$`, 'u');
const MAX_WORDS = 8;

/** Whether `text` is only a request to be quiet, said with or without the assistant's `name`. */
export function isQuietRequest(text: string, name: string): boolean {
  const folded = foldAccents(normalizeText(text));
  const wanted = normalizeName(name);
  let rest = wanted === '' ? folded : folded.split(wanted).join(' ');
  rest = rest
    .replace(/@/gu, ' ')
    .replace(/[^\p{L}\p{M}\p{N}'\s-]/gu, ' ')
    .replace(/(?<=^|\s)[-']+(?=\s|$)/gu, ' ')
    .replace(/\s+/gu, ' ')
    .trim();
  if (rest === '' || rest.split(' ').length > MAX_WORDS) return false;
  return REQUEST.test(rest);
}
