import { MAX_ATTACHMENTS_PER_MESSAGE, routes } from '@parley/protocol';

/** The types the server takes, from the route table: what the picker offers and what is checked before uploading [WB34]. */
export const ACCEPTED_TYPES: readonly string[] = routes.uploadAttachment.upload?.contentTypes ?? [];
export { MAX_ATTACHMENTS_PER_MESSAGE };

/** Types the server shows inline and the client shows as a thumbnail. */
const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/webp', 'image/gif']);

/** Browsers leave `File.type` empty for some text files (`.md` on most systems): their extension names the type. */
const BY_EXTENSION: Record<string, string> = {
  txt: 'text/plain',
  text: 'text/plain',
  log: 'text/plain',
  md: 'text/markdown',
  markdown: 'text/markdown',
  csv: 'text/csv',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  gif: 'image/gif',
  pdf: 'application/pdf',
};

/** The base type of a content type, without parameters (`text/plain; charset=utf-8` → `text/plain`). */
export function baseType(contentType: string): string {
  return (contentType.split(';')[0] ?? '').trim().toLowerCase();
}

export function isImage(contentType: string): boolean {
  return IMAGE_TYPES.has(baseType(contentType));
}

/** The type to upload a file as: what the browser says, or else what its extension says; `null` when the server would refuse it. */
export function uploadType(file: { name: string; type: string }): string | null {
  const declared = baseType(file.type);
  if (declared && ACCEPTED_TYPES.includes(declared)) return declared;
  const extension = /\.([a-z0-9]+)$/i.exec(file.name)?.[1]?.toLowerCase() ?? '';
  const guessed = BY_EXTENSION[extension];
  // A declared type the server refuses (video/mp4) is refused even with a friendly extension.
  if (declared && declared !== 'application/octet-stream') return null;
  return guessed ?? null;
}

/** Longest file name the server takes (protocol's `UploadAttachmentQuerySchema`). */
const MAX_NAME = 200;

/**
 * A name the server accepts for any file the person picked: slashes and control characters
 * (refused by protocol's schema) become `_`, and a long name is cut before its extension. A pasted
 * image has no useful name, so it gets `pasted-image.png`.
 */
export function uploadName(name: string, contentType: string): string {
  let cleaned = name.replace(/[\\/\u0000-\u001f\u007f]/g, '_').trim();
  if (cleaned === '' || (/^image\.\w+$/.test(cleaned) && isImage(contentType))) cleaned = `pasted-image.${baseType(contentType).split('/')[1] ?? 'png'}`;
  if (cleaned.length <= MAX_NAME) return cleaned;
  const dot = cleaned.lastIndexOf('.');
  const extension = dot > 0 && cleaned.length - dot <= 10 ? cleaned.slice(dot) : '';
  return `${cleaned.slice(0, MAX_NAME - extension.length)}${extension}`;
}

const SIZE_UNITS = ['byte', 'kilobyte', 'megabyte', 'gigabyte'] as const;

/**
 * A size for people, in their language by Intl's unit formatting [WB64]: "512 B" and "3.4 kB" in
 * English, "512 o" and "3,4 ko" in French. Steps of 1024, as the server's limits are written.
 * Intl's short form spells a byte out in English ("73 byte"), so the unit is its narrow symbol,
 * placed where the short form puts it (with the language's own space).
 */
export function formatSize(bytes: number, language: string): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < SIZE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = unit === 0 || value >= 10 ? 0 : 1;
  const options = { style: 'unit', unit: SIZE_UNITS[unit], maximumFractionDigits: digits, minimumFractionDigits: digits } as const;
  const symbol = new Intl.NumberFormat(language, { ...options, unitDisplay: 'narrow' }).formatToParts(value).find((part) => part.type === 'unit')?.value;
  return new Intl.NumberFormat(language, { ...options, unitDisplay: 'short' })
    .formatToParts(value)
    .map((part) => (part.type === 'unit' && symbol ? symbol : part.value))
    .join('');
}
