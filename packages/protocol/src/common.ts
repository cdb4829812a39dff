import { z } from 'zod';

/**
 * A string bounded first: the length check aborts, so nothing costlier (a regex, a trim, a
 * grapheme count) ever runs on more than `max` UTF-16 code units, whatever a caller sends.
 * Every string of a request starts here or at `textSchema` [PB1].
 */
export function boundedString(max: number): z.ZodString {
  return z.string().max(max, { abort: true, message: `must be at most ${max} characters` });
}

/**
 * U+0000 or a UTF-16 surrogate without its pair: PostgreSQL cannot store the first and both
 * databases would change the second, so they are refused on the wire instead [PB2].
 */
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Whether `value` holds what `textSchema` refuses [PB2]. */
export function hasUnstorableText(value: string): boolean {
  return UNSTORABLE.test(value);
}

/** `value` with what `textSchema` refuses replaced by U+FFFD: for text a program did not type, such as a model's [PB2]. */
export function toStorableText(value: string): string {
  return UNSTORABLE.test(value) ? value.replace(new RegExp(UNSTORABLE.source, 'g'), '\ufffd') : value;
}

/**
 * The one schema of text people and programs send (names, titles, messages, memories,
 * instructions, reasons): bounded first [PB1], then free of U+0000 and lone surrogates [PB2],
 * then trimmed and held to a minimum when asked.
 */
export function textSchema(options: { max: number; min?: number; trim?: boolean }): z.ZodString {
  let schema = boundedString(options.max).refine((value) => !UNSTORABLE.test(value), {
    abort: true,
    message: 'must not contain U+0000 or an unpaired surrogate',
  });
  if (options.trim) schema = schema.trim();
  if (options.min !== undefined) schema = schema.min(options.min);
  return schema;
}

/** The bound of each array and record made by `boundedArray` and `boundedRecord`, for the bounds walk. */
const collectionBounds = new WeakMap<object, number>();

export function collectionBoundOf(schema: object): number | undefined {
  return collectionBounds.get(schema);
}

/**
 * An array of at most `max` items, counted before any item is parsed: a body of a hundred
 * thousand items costs one length check, not a hundred thousand item checks [PB1].
 */
export function boundedArray<T extends z.ZodType>(item: T, max: number) {
  const array = z.array(item).max(max);
  const bounded = z.preprocess<unknown, typeof array, z.input<typeof array>>((value, context) => {
    if (Array.isArray(value) && value.length > max) {
      context.issues.push({ code: 'too_big', origin: 'array', maximum: max, inclusive: true, input: value, message: `must hold at most ${max} items` });
    }
    return value;
  }, array);
  collectionBounds.set(bounded, max);
  return bounded;
}

/** A record of at most `max` entries, counted (up to `max + 1`) before any entry is parsed [PB1]. */
export function boundedRecord<K extends z.core.$ZodRecordKey, V extends z.ZodType>(key: K, value: V, max: number) {
  const record = z.record(key, value);
  const bounded = z.preprocess<unknown, typeof record, z.input<typeof record>>((input, context) => {
    if (typeof input === 'object' && input !== null && !Array.isArray(input)) {
      let count = 0;
      for (const name in input) {
        if (!Object.hasOwn(input, name)) continue;
        count += 1;
        if (count > max) {
          context.issues.push({ code: 'too_big', origin: 'object', maximum: max, inclusive: true, input, message: `must hold at most ${max} entries` });
          break;
        }
      }
    }
    return input;
  }, record);
  collectionBounds.set(bounded, max);
  return bounded;
}

export const IdSchema = boundedString(64).min(1).regex(/^[A-Za-z0-9_-]+$/, 'must be an id');
/** Ids that clients choose for their own messages: random, URL-safe, 8 to 64 characters. */
export const ClientIdSchema = boundedString(64)
  .regex(/^[A-Za-z0-9_-]{8,64}$/, 'must be 8 to 64 characters of A-Z, a-z, 0-9, _ or -');
export const TimestampSchema = z.iso.datetime({ offset: true });
/** A time a request carries: bounded before it is read as an ISO-8601 time [PB1]. */
export const TimestampInputSchema = boundedString(40).check(z.iso.datetime({ offset: true }));
/**
 * The largest integer a request may carry where one is stored or compared in SQL: both
 * databases hold these columns as 32-bit integers, and PostgreSQL refuses a larger parameter
 * (once a 500) [PB1].
 */
export const MAX_STORED_INTEGER = 2_147_483_647;
/** A position in one conversation's event log: 0 before the first event. */
export const SeqSchema = z.number().int().min(0).max(MAX_STORED_INTEGER);

export const UsernameSchema = boundedString(64)
  .trim()
  .toLowerCase()
  .regex(/^[a-z0-9_]{3,32}$/, 'must be 3 to 32 characters of a-z, 0-9 or _');
export const DisplayNameSchema = textSchema({ max: 64, trim: true, min: 1 });
export const PasswordSchema = textSchema({ max: 256 }).min(8, 'must be at least 8 characters');

export const AgeBandSchema = z.enum(['adult', 'teen']);
export type AgeBand = z.infer<typeof AgeBandSchema>;

const graphemes = new Intl.Segmenter('en', { granularity: 'grapheme' });

/** One emoji, possibly with modifiers, joiners or flags. */
export const EmojiSchema = textSchema({ max: 32, min: 1 })
  .regex(/^(?:\p{Extended_Pictographic}|\p{Emoji_Component}|\u200d|\ufe0f|\u20e3)+$/u, { abort: true, message: 'must be an emoji' })
  // A keycap (1️⃣, #️⃣) is an emoji built on a plain character, so it counts as well.
  .refine((value) => /\p{Extended_Pictographic}|\p{Regional_Indicator}|[0-9#*]\ufe0f?\u20e3/u.test(value), 'must be an emoji')
  // One emoji, not a row of them: exactly one user-perceived character. Segmenting is the costly
  // check, so it runs last and only on the 32 characters the bound lets through [PB1].
  .refine((value) => [...graphemes.segment(value)].length === 1, 'must be a single emoji');

export const PageLimitSchema = z.coerce.number().int().min(1).max(200).default(50);
