import { z } from 'zod';

export const IdSchema = z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/, 'must be an id');
/** Ids that clients choose for their own messages: random, URL-safe, 8 to 64 characters. */
export const ClientIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{8,64}$/, 'must be 8 to 64 characters of A-Z, a-z, 0-9, _ or -');
export const TimestampSchema = z.iso.datetime({ offset: true });
/** A position in one conversation's event log: 0 before the first event. */
export const SeqSchema = z.number().int().min(0);

export const UsernameSchema = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[a-z0-9_]{3,32}$/, 'must be 3 to 32 characters of a-z, 0-9 or _');
export const DisplayNameSchema = z.string().trim().min(1).max(64);
export const PasswordSchema = z.string().min(8, 'must be at least 8 characters').max(256);

export const AgeBandSchema = z.enum(['adult', 'teen']);
export type AgeBand = z.infer<typeof AgeBandSchema>;

const graphemes = new Intl.Segmenter('en', { granularity: 'grapheme' });

/** One emoji, possibly with modifiers, joiners or flags. */
export const EmojiSchema = z
  .string()
  .min(1)
  .max(32)
  .regex(/^(?:\p{Extended_Pictographic}|\p{Emoji_Component}|\u200d|\ufe0f|\u20e3)+$/u, 'must be an emoji')
  // A keycap (1️⃣, #️⃣) is an emoji built on a plain character, so it counts as well.
  .refine((value) => /\p{Extended_Pictographic}|\p{Regional_Indicator}|[0-9#*]\ufe0f?\u20e3/u.test(value), 'must be an emoji')
  // One emoji, not a row of them: exactly one user-perceived character.
  .refine((value) => [...graphemes.segment(value)].length === 1, 'must be a single emoji');

export const PageLimitSchema = z.coerce.number().int().min(1).max(200).default(50);
