// Types only: frimousse itself stays in the picker's lazy chunk.
import type { EmojiData } from 'frimousse';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';

/** The fonts emoji are drawn with: the stack frimousse gives its grid, so a check here holds there. */
const EMOJI_FONT = "'Apple Color Emoji', 'Noto Color Emoji', 'Twemoji Mozilla', 'Android Emoji', 'Segoe UI Emoji', 'Segoe UI Symbol', EmojiSymbols, sans-serif";
const SIZE = 24;
/** Where the build puts emojibase-data (vite.config.ts): this server, never a CDN [WB29]. */
export const EMOJIBASE_URL = '/emojibase';
/** An emoji every colour font has: the width one drawn emoji takes. */
const REFERENCE = '\u{1F600}';

let canvas: CanvasRenderingContext2D | null | undefined;
const drawable = new Map<string, boolean>();

function context(): CanvasRenderingContext2D | null {
  if (canvas === undefined) {
    try {
      const element = document.createElement('canvas');
      element.width = SIZE * 2;
      element.height = SIZE;
      canvas = element.getContext('2d', { willReadFrequently: true });
    } catch {
      canvas = null;
    }
    if (canvas) {
      canvas.font = `${SIZE * 0.75}px ${EMOJI_FONT}`;
      canvas.textBaseline = 'top';
    }
  }
  return canvas;
}

function draw(target: CanvasRenderingContext2D, emoji: string, color: string): Uint8ClampedArray {
  target.clearRect(0, 0, SIZE * 2, SIZE);
  target.fillStyle = color;
  target.fillText(emoji, 0, 2);
  return target.getImageData(0, 0, SIZE * 2, SIZE).data;
}

/**
 * Whether this browser draws `emoji` as one colour glyph [WB90]. An emoji newer than the font is
 * drawn as nothing at all (frimousse's own check takes that for support), as a box or a plain
 * glyph in the text colour, or, for a sequence, as its parts side by side: each of those is a no.
 * Without a canvas there is no telling, and the emoji is shown as it is.
 */
export function canDraw(emoji: string): boolean {
  const known = drawable.get(emoji);
  if (known !== undefined) return known;
  const target = context();
  if (!target) return true;
  let result = target.measureText(emoji).width <= target.measureText(REFERENCE).width * 1.5;
  if (result) {
    const blue = draw(target, emoji, '#00f');
    const red = draw(target, emoji, '#f00');
    let painted = false;
    for (let index = 0; index < blue.length && result; index += 4) {
      if ((blue[index + 3] ?? 0) > 0) painted = true;
      // A glyph that takes the fill colour is not a colour emoji: a box, or a text fallback.
      if (blue[index] !== red[index] || blue[index + 1] !== red[index + 1] || blue[index + 2] !== red[index + 2]) result = false;
    }
    result &&= painted;
  }
  drawable.set(emoji, result);
  return result;
}

type PickerEmoji = EmojiData['emojis'][number];

/**
 * The picker's emoji that this browser draws [WB90]. Fonts grow by whole emoji versions, so the
 * versions are checked from the newest down, each emoji of them, until one is drawn entirely: the
 * older ones are kept without a check. Flags are one more question first (some systems draw only
 * letters for every flag).
 */
export function drawableOnly(emojis: PickerEmoji[]): PickerEmoji[] {
  const versions = [...new Set(emojis.filter((emoji) => !emoji.countryFlag).map((emoji) => emoji.version))].sort((a, b) => b - a);
  const checked = new Set<number>();
  let trustedBelow = -Infinity;
  for (const version of versions) {
    checked.add(version);
    const all = emojis.filter((emoji) => emoji.version === version && !emoji.countryFlag);
    if (all.every((emoji) => canDraw(emoji.emoji))) {
      trustedBelow = version;
      break;
    }
  }
  const flag = emojis.find((emoji) => emoji.countryFlag);
  const flags = flag ? canDraw(flag.emoji) : false;
  return emojis.filter((emoji) => {
    if (emoji.countryFlag && !flags) return false;
    if (emoji.version < trustedBelow || !checked.has(emoji.version)) return true;
    return canDraw(emoji.emoji);
  });
}

const bare = (emoji: string) => emoji.replace(/[\uFE0E\uFE0F]/gu, '');
const names = new Map<string, Promise<Map<string, string>>>();

/** The emoji names of a language, from this server's copy of emojibase-data, read once and only when asked for. */
function namesOf(url: string): Promise<Map<string, string>> {
  let loading = names.get(url);
  if (!loading) {
    loading = fetch(url)
      .then(async (response) => {
        if (!response.ok) throw new Error(`${url}: ${response.status}`);
        const list = (await response.json()) as unknown;
        const byEmoji = new Map<string, string>();
        if (!Array.isArray(list)) return byEmoji;
        for (const entry of list as { emoji?: unknown; label?: unknown; skins?: unknown }[]) {
          if (typeof entry.emoji !== 'string' || typeof entry.label !== 'string') continue;
          byEmoji.set(bare(entry.emoji), entry.label);
          if (Array.isArray(entry.skins)) {
            for (const skin of entry.skins as { emoji?: unknown; label?: unknown }[]) {
              if (typeof skin.emoji === 'string' && typeof skin.label === 'string') byEmoji.set(bare(skin.emoji), skin.label);
            }
          }
        }
        return byEmoji;
      })
      .catch(() => {
        names.delete(url);
        return new Map<string, string>();
      });
    names.set(url, loading);
  }
  return loading;
}

/** U+1FAE9, U+1F1EB U+1F1F7: what stands for an emoji that has no name here either. */
export const codePoints = (emoji: string) =>
  [...emoji].map((character) => `U+${(character.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`).join(' ');

/**
 * An emoji as the browser can show it [WB90]: itself when the font draws it, else its name in the
 * person's language (its code points while that loads, or when it has none), with the same words
 * as its title, so a reaction from a newer system is never a blank box.
 */
export function EmojiGlyph({ emoji }: { emoji: string }) {
  const { i18n } = useTranslation();
  const locale = i18n.language === 'fr' ? 'fr' : 'en';
  const shown = canDraw(emoji);
  const [name, setName] = useState<string | null>(null);
  useEffect(() => {
    if (shown) return undefined;
    let current = true;
    void namesOf(`${EMOJIBASE_URL}/${locale}/data.json`).then((byEmoji) => {
      if (current) setName(byEmoji.get(bare(emoji)) ?? null);
    });
    return () => {
      current = false;
    };
  }, [emoji, locale, shown]);
  if (shown) return <>{emoji}</>;
  const words = name ?? codePoints(emoji);
  return (
    <span className="italic" title={words} data-testid="emoji-fallback" data-emoji={emoji}>
      {`:${words}:`}
    </span>
  );
}
