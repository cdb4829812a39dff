import { ParleyError } from '@parley/protocol';
import type { FastifyInstance } from 'fastify';
import { fileTypeFromBuffer } from 'file-type';
import type { ServerContext } from '../context.js';
import { bindRoute } from '../http/bind.js';
import { newId, sha256 } from '../ids/ids.js';
import { toAttachment } from '../messages/views.js';
import { checkUnsentRoom } from './unsent-uploads.js';

/** Binary formats accepted, by the type sniffed from their bytes. Served inline. */
const BINARY_TYPES = new Set(['image/png', 'image/jpeg', 'image/webp', 'image/gif', 'application/pdf']);
/** Text formats accepted, by the declared type (text has no magic bytes). Served as downloads. */
const TEXT_TYPES = new Set(['text/plain', 'text/markdown', 'text/csv']);

function baseType(contentType: string): string {
  return (contentType.split(';')[0] ?? '').trim().toLowerCase();
}

function isUtf8Text(data: Buffer): boolean {
  if (data.includes(0)) return false;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(data);
    return true;
  } catch {
    return false;
  }
}

/**
 * The type to store a file under, from its bytes. A recognised image or PDF is stored as what it
 * really is, whatever the header said (an `image/png` that is a PDF is stored as
 * `application/pdf`): the header is never trusted for binary formats, and the stored type is
 * what the file is served as. Anything else is accepted only as text: declared as one of the text
 * types and valid UTF-8 without NUL bytes. That also covers text that merely starts like a binary
 * format ("BMW sales…" sniffs as a BMP), which is served as inert text.
 */
export async function attachmentType(data: Buffer, declared: string): Promise<string> {
  const sniffed = await fileTypeFromBuffer(data);
  if (sniffed && BINARY_TYPES.has(sniffed.mime)) return sniffed.mime;
  const declaredBase = baseType(declared);
  if (TEXT_TYPES.has(declaredBase) && isUtf8Text(data)) return `${declaredBase}; charset=utf-8`;
  const what = sniffed ? `a ${sniffed.mime} file` : declaredBase ? `this ${declaredBase} content` : 'this content';
  throw new ParleyError('UNSUPPORTED_MEDIA_TYPE', `${what} cannot be attached: send a PNG, JPEG, WebP, GIF or PDF file, or UTF-8 text as text/plain, text/markdown or text/csv`, {
    field: 'body',
  });
}

/** `content-disposition` with an ASCII fallback and the exact UTF-8 name (RFC 6266, RFC 5987). */
export function contentDisposition(kind: 'inline' | 'attachment', filename: string): string {
  const fallback = filename.replace(/[^\x20-\x7e]|["\\%;]/g, '_');
  const encoded = encodeURIComponent(filename).replace(/['()*]/g, (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${kind}; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}

export function registerAttachmentRoutes(app: FastifyInstance, context: ServerContext): void {
  const { reader } = context.storage;

  bindRoute(app, context, 'uploadAttachment', async ({ auth, query, upload }) => {
    const { data } = upload;
    // The route's body limit also admits avatars, which may be allowed to be larger.
    if (data.length > context.config.maxUploadBytes) {
      throw new ParleyError('PAYLOAD_TOO_LARGE', `a file may be at most ${context.config.maxUploadBytes} bytes`, { field: 'body' });
    }
    if (data.length === 0) throw new ParleyError('INVALID_INPUT', 'body: the file is empty', { field: 'body' });
    const contentType = await attachmentType(data, upload.contentType);
    // Refused before the bytes are written; checked again in the write, which decides.
    await checkUnsentRoom(context, reader, auth.userId, data.length);
    const row = {
      id: newId(),
      uploader_id: auth.userId,
      filename: query.filename,
      content_type: contentType,
      size: data.length,
      sha256: sha256(data),
      created_at: '',
    };
    // The bytes are durable before the row that points to them commits; if the row fails, the
    // file is removed again (an orphan file is harmless, a row without its file is not).
    await context.files.put('attachments', row.id, data);
    try {
      return await context.log.write(async (write) => {
        await checkUnsentRoom(context, write.db, auth.userId, data.length);
        const stored = { ...row, created_at: write.now };
        await write.db.insertInto('attachments').values(stored).execute();
        return toAttachment(stored);
      });
    } catch (error) {
      await context.files.remove('attachments', row.id).catch(() => undefined);
      throw error;
    }
  });

  bindRoute(app, context, 'getAttachment', async ({ auth, params }) => {
    const notFound = () => new ParleyError('NOT_FOUND', 'no such attachment', { field: 'params.attachmentId' });
    const row = await reader.selectFrom('attachments').selectAll().where('id', '=', params.attachmentId).executeTakeFirst();
    if (!row) throw notFound();
    if (row.uploader_id !== auth.userId) {
      // Visible to the current members of a conversation where a message shows it; a member who
      // left loses it with the rest of the conversation.
      const visible = await reader
        .selectFrom('message_attachments')
        .innerJoin('members', (join) =>
          join.onRef('members.conversation_id', '=', 'message_attachments.conversation_id').on('members.user_id', '=', auth.userId),
        )
        .select('message_attachments.message_id')
        .where('message_attachments.attachment_id', '=', row.id)
        .executeTakeFirst();
      if (!visible) throw notFound();
    }
    // Missing only when a delete of its message committed since the row was read.
    const data = await context.files.read('attachments', row.id);
    if (!data) throw notFound();
    const inline = BINARY_TYPES.has(baseType(row.content_type));
    return {
      data,
      contentType: row.content_type,
      headers: {
        'content-disposition': contentDisposition(inline ? 'inline' : 'attachment', row.filename),
        'x-content-type-options': 'nosniff',
        // Opened directly, the file is a sandboxed document that can load nothing and run nothing.
        'content-security-policy': "default-src 'none'; sandbox",
        'cross-origin-resource-policy': 'same-site',
        // The bytes behind an id never change; only the caller's own browser may keep them.
        'cache-control': 'private, max-age=86400',
      },
    };
  });
}
