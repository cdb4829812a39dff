/**
 * `@username` mentions in message text, read as the web client renders the text (markdown): a
 * mention inside code (a fenced or indented block, or an inline span) is code, not a call, so it
 * neither notifies the person nor calls the assistant. Shared by the server (who is notified),
 * the assistant (who is addressed) and clients (what is shown as a chip).
 */

const USERNAME_MENTION = /(?<![\p{L}\p{N}_.+\-@])@([A-Za-z0-9_]{3,32})(?![A-Za-z0-9_@])/gu;
// A fence opens a line with three or more backticks or tildes and ends at a line holding a fence
// of the same character at least as long, or at the end of the text.
const FENCE = /^( {0,3})(`{3,}|~{3,})/;
// Four spaces or a tab opens an indented code line (after a blank line or at the start).
const INDENTED = /^(?: {4}|\t)/;

/** `text` with every character of its code (blocks and inline spans) replaced by a space; its length and line breaks kept. */
export function withoutCode(text: string): string {
  const lines = text.split('\n');
  const out: string[] = [];
  let fence: string | null = null;
  let previousBlank = true;
  for (const line of lines) {
    if (fence !== null) {
      out.push(blank(line));
      const close = FENCE.exec(line);
      if (close && close[2]![0] === fence[0] && close[2]!.length >= fence.length && line.slice(close[0].length).trim() === '') fence = null;
      continue;
    }
    const open = FENCE.exec(line);
    if (open) {
      fence = open[2]!;
      out.push(blank(line));
      previousBlank = false;
      continue;
    }
    if (previousBlank && INDENTED.test(line) && line.trim() !== '') {
      out.push(blank(line));
      continue;
    }
    previousBlank = line.trim() === '';
    out.push(line);
  }
  return blankInlineCode(out.join('\n'));
}

/** Inline code spans: a run of n backticks up to the next run of exactly n. An unmatched run is text. */
function blankInlineCode(text: string): string {
  let result = '';
  let index = 0;
  while (index < text.length) {
    const tick = text.indexOf('`', index);
    if (tick === -1) break;
    let runEnd = tick;
    while (text[runEnd] === '`') runEnd += 1;
    const run = runEnd - tick;
    let close = -1;
    for (let search = text.indexOf('`', runEnd); search !== -1; ) {
      let end = search;
      while (text[end] === '`') end += 1;
      if (end - search === run) {
        close = search;
        break;
      }
      search = text.indexOf('`', end);
    }
    if (close === -1) {
      result += text.slice(index, runEnd);
      index = runEnd;
      continue;
    }
    result += text.slice(index, tick) + blank(text.slice(tick, close + run));
    index = close + run;
  }
  return result + text.slice(index);
}

function blank(segment: string): string {
  return segment.replace(/[^\n]/g, ' ');
}

/**
 * Where `@name` is written in a run of plain text (code already left out, as in a rendered text
 * node): each span's start and end offsets and its username, lower-cased. The same pattern as
 * `mentionedUsernames`, so a client highlights exactly what notifies.
 */
export function mentionSpans(text: string): { start: number; end: number; username: string }[] {
  return [...text.matchAll(USERNAME_MENTION)].map((match) => ({ start: match.index, end: match.index + match[0].length, username: match[1]!.toLowerCase() }));
}

/**
 * Usernames written as `@name` outside code, lower-cased, in order of first appearance. An `@`
 * inside a word (an e-mail address such as `ann@example.com`) is not a mention.
 */
export function mentionedUsernames(text: string): string[] {
  const found = new Set<string>();
  for (const match of withoutCode(text).matchAll(USERNAME_MENTION)) {
    const name = match[1];
    if (name) found.add(name.toLowerCase());
  }
  return [...found];
}
