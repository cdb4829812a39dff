/**
 * Usernames written as `@name` in a message, lower-cased, in order of first appearance. An `@`
 * inside a word (an e-mail address such as `ann@example.com`) is not a mention.
 */
export function mentionedUsernames(text: string): string[] {
  const found = new Set<string>();
  for (const match of text.matchAll(/(?<![\p{L}\p{N}_.+\-@])@([A-Za-z0-9_]{3,32})(?![A-Za-z0-9_@])/gu)) {
    const name = match[1];
    if (name) found.add(name.toLowerCase());
  }
  return [...found];
}
