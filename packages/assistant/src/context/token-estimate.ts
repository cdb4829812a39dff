/**
 * A token estimate that needs no tokenizer, so the assistant depends on no model's vocabulary
 * and costs nothing to run per message.
 *
 * - ASCII text: the usual four characters per token of English and code.
 * - Any other character (a code point, not a UTF-16 unit): one token. About right for Chinese,
 *   Japanese or Korean, generous for accented Latin (French "é" usually shares a token).
 * - Then a safety margin of 20% on the whole, because names, numbers, URLs and emoji tokenise
 *   worse than prose and an overflowing prompt fails the whole turn, while a slightly short one
 *   only drops an old message.
 */
export const TOKEN_ESTIMATE = {
  asciiCharactersPerToken: 4,
  safetyMargin: 1.2,
  /** What a chat message costs on top of its text (role, separators), in every provider's format. */
  messageOverhead: 4,
  /** What the prompt costs on top of its messages (priming of the answer). */
  promptOverhead: 3,
} as const;

export function estimateTokens(text: string): number {
  let ascii = 0;
  let other = 0;
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (code < 0x80) ascii += 1;
    // A low surrogate is the second half of a character already counted with its high half.
    else if (code < 0xdc00 || code > 0xdfff) other += 1;
  }
  return Math.ceil((ascii / TOKEN_ESTIMATE.asciiCharactersPerToken + other) * TOKEN_ESTIMATE.safetyMargin);
}

/**
 * The longest start of `text` whose estimate stays within `tokens`, with a marker when cut.
 * Cuts between characters, never inside a surrogate pair.
 */
export function truncateToTokens(text: string, tokens: number, marker = ' […]'): string {
  if (estimateTokens(text) <= tokens) return text;
  const room = tokens / TOKEN_ESTIMATE.safetyMargin - estimateTokens(marker) / TOKEN_ESTIMATE.safetyMargin;
  let cost = 0;
  let end = 0;
  while (end < text.length) {
    const code = text.charCodeAt(end);
    const width = code >= 0xd800 && code < 0xdc00 ? 2 : 1;
    const step = code < 0x80 ? 1 / TOKEN_ESTIMATE.asciiCharactersPerToken : 1;
    if (cost + step > room) break;
    cost += step;
    end += width;
  }
  return text.slice(0, end) + marker;
}
