import { ParleyError } from '@parley/protocol';
import type { FastifyInstance } from 'fastify';
import { fileTypeFromBuffer } from 'file-type';
import type { ServerContext } from '../context.js';
import { bindRoute } from '../http/bind.js';
import { newId } from '../ids/ids.js';
import { announceProfile, getUser, toMe } from './users.js';

/** Avatars are stored as one square WebP of this many pixels a side. */
export const AVATAR_SIZE = 256;

/**
 * The most pixels an uploaded image may declare. A small file can claim huge dimensions (a
 * decompression bomb); sharp refuses it from the header, before decoding anything. 40 MP keeps
 * ordinary phone photos.
 */
export const AVATAR_MAX_INPUT_PIXELS = 40_000_000;

/** What the bytes may really be, by sniffed MIME type, with the name sharp gives that format. */
const ACCEPTED = new Map([
  ['image/png', 'png'],
  ['image/jpeg', 'jpeg'],
  ['image/webp', 'webp'],
  ['image/gif', 'gif'],
]);

// Avatar URLs change with every upload, so a browser may keep one forever.
const CACHE_FOREVER = 'public, max-age=31536000, immutable';

/**
 * Turns uploaded bytes into the stored avatar: the type is sniffed from the content (the
 * Content-Type header is not trusted), then the image is decoded and re-encoded, which drops
 * metadata (EXIF, location) and anything hidden in the original file.
 */
export async function encodeAvatar(data: Buffer, maxBytes: number): Promise<Buffer> {
  if (data.length === 0) throw new ParleyError('INVALID_INPUT', 'body: send the image bytes', { field: 'body' });
  if (data.length > maxBytes) {
    throw new ParleyError('PAYLOAD_TOO_LARGE', `an avatar may be at most ${maxBytes} bytes`, { field: 'body' });
  }
  const sniffed = await fileTypeFromBuffer(data);
  const format = sniffed ? ACCEPTED.get(sniffed.mime) : undefined;
  if (!sniffed || !format) {
    throw new ParleyError('UNSUPPORTED_MEDIA_TYPE', `an avatar must be a PNG, JPEG, WebP or GIF image${sniffed ? `, not ${sniffed.mime}` : ''}`, {
      field: 'body',
    });
  }
  // `pages: 1` keeps the first frame of an animation only.
  // Loaded with the first avatar: a restarted node's clients wait on its start-up, not on an image library.
  const { default: sharp } = await import('sharp');
  const image = sharp(data, { limitInputPixels: AVATAR_MAX_INPUT_PIXELS, pages: 1, failOn: 'error' });
  try {
    const metadata = await image.metadata();
    // The decoder must agree with the sniffer, so no other codec ever parses these bytes.
    if (metadata.format !== format) {
      throw new ParleyError('UNSUPPORTED_MEDIA_TYPE', `the image does not decode as ${sniffed.mime}`, { field: 'body' });
    }
    return await image
      .rotate() // Applies the EXIF orientation before the metadata is dropped.
      .resize(AVATAR_SIZE, AVATAR_SIZE, { fit: 'cover', position: 'centre' })
      .webp({ quality: 82 })
      .toBuffer();
  } catch (error) {
    if (error instanceof ParleyError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    if (/pixel limit/i.test(message)) {
      throw new ParleyError('PAYLOAD_TOO_LARGE', `an avatar may have at most ${AVATAR_MAX_INPUT_PIXELS} pixels`, { field: 'body' });
    }
    throw new ParleyError('INVALID_INPUT', `body: the ${sniffed.mime} image could not be decoded`, { field: 'body' });
  }
}

export function registerAvatarRoutes(app: FastifyInstance, context: ServerContext): void {
  bindRoute(app, context, 'uploadAvatar', async ({ auth, upload }) => {
    const encoded = await encodeAvatar(upload.data, context.config.maxAvatarBytes);
    // A fresh id each time: the URL changes, so no cache ever shows the old picture.
    const avatarId = newId();
    await context.files.put('avatars', avatarId, encoded);
    const user = await context.log
      .write(async (write) => {
        const before = await getUser(write.db, auth.userId);
        await write.db.updateTable('users').set({ avatar_id: avatarId }).where('id', '=', auth.userId).execute();
        if (before.avatar_id) {
          const old = before.avatar_id;
          write.afterCommit(() => void context.files.remove('avatars', old).catch(() => {}));
        }
        const after = { ...before, avatar_id: avatarId };
        await announceProfile(write, before, after);
        return after;
      })
      .catch(async (error: unknown) => {
        // The account never pointed at the new file: do not leave it behind.
        await context.files.remove('avatars', avatarId).catch(() => {});
        throw error;
      });
    return toMe(user, context.config);
  });

  bindRoute(app, context, 'deleteAvatar', async ({ auth }) => {
    const user = await context.log.write(async (write) => {
      const before = await getUser(write.db, auth.userId);
      if (before.avatar_id) {
        const old = before.avatar_id;
        await write.db.updateTable('users').set({ avatar_id: null }).where('id', '=', auth.userId).execute();
        write.afterCommit(() => void context.files.remove('avatars', old).catch(() => {}));
      }
      const after = { ...before, avatar_id: null };
      await announceProfile(write, before, after);
      return after;
    });
    return toMe(user, context.config);
  });

  bindRoute(app, context, 'getAvatar', async ({ params }) => {
    const data = await context.files.read('avatars', params.avatarId);
    if (!data) throw new ParleyError('NOT_FOUND', 'no such avatar', { field: 'params.avatarId' });
    return { data, contentType: 'image/webp', headers: { 'cache-control': CACHE_FOREVER } };
  });
}
