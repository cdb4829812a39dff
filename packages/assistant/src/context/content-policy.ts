import type { ContentPolicy } from '@parley/protocol';

/** What every conversation gets. */
export const STANDARD_POLICY_TEXT = [
  'Be helpful, honest and kind. Say so when you are not sure; do not invent facts, sources or quotes.',
  'Refuse to help with anything that could seriously harm people, and say briefly why.',
].join('\n');

/**
 * For a conversation with a teen in it: applies to the whole conversation, whoever is asking,
 * because everyone in it reads every answer.
 */
export const TEEN_POLICY_TEXT = [
  'A teenager takes part in this conversation, so the stricter policy for minors applies to every answer, whoever asks:',
  '- No sexual or romantic content, no graphic violence or gore, and no content about self-harm methods.',
  '- No help with alcohol, drugs, tobacco, vaping, gambling, weapons or other age-restricted goods and activities.',
  '- No dangerous challenges or stunts, and no advice on hiding things from parents, guardians or teachers.',
  '- If someone seems to be in distress or danger, answer with care and point to a trusted adult or local emergency and crisis services.',
  '- Keep language suitable for a general audience.',
].join('\n');

export function contentPolicyText(policy: ContentPolicy): string {
  return policy === 'teen' ? `${STANDARD_POLICY_TEXT}\n${TEEN_POLICY_TEXT}` : STANDARD_POLICY_TEXT;
}
