import zlib from 'node:zlib';
import { ParleyClient } from '@parley/sdk';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { startTestServer } from '../test/harness.js';
import { AVATAR_SIZE } from './avatar-routes.js';

/** A real image of the given size and format, with a gradient so it is not trivially compressible. */
async function makeImage(format: 'png' | 'jpeg' | 'gif' | 'webp', width = 400, height = 300): Promise<Buffer> {
  const pixels = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const offset = (y * width + x) * 3;
      pixels[offset] = x % 256;
      pixels[offset + 1] = y % 256;
      pixels[offset + 2] = (x + y) % 256;
    }
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } })[format]().toBuffer();
}

/** A valid PNG whose header claims `width` x `height` (a decompression bomb in miniature). */
async function pngClaiming(width: number, height: number): Promise<Buffer> {
  const png = Buffer.from(await makeImage('png', 8, 8));
  // IHDR data starts after the 8-byte signature, 4-byte length and 4-byte type.
  png.writeUInt32BE(width, 16);
  png.writeUInt32BE(height, 20);
  png.writeUInt32BE(zlib.crc32(png.subarray(12, 29)), 29);
  return png;
}

async function expectError(promise: Promise<unknown>, code: string, field?: string): Promise<void> {
  await expect(promise).rejects.toMatchObject({ code, ...(field ? { field } : {}) });
}

describe('profile changes reach the members live', () => {
  it('[EL1] a new display name, username or avatar is a member-updated event in every conversation of the account, and no change is no event', async () => {
    await using server = await startTestServer();
    const [ann, bob, carol] = [await server.user(), await server.user(), await server.user()];
    const trip = (await ann.client.api.createConversation({ body: { kind: 'group', title: 'Trip', usernames: [bob.user.username] } })).conversation.id;
    const direct = (await ann.client.api.createConversation({ body: { kind: 'direct', username: bob.user.username } })).conversation.id;
    const elsewhere = (await bob.client.api.createConversation({ body: { kind: 'group', usernames: [carol.user.username] } })).conversation.id;
    const bobStream = await server.connect(bob.client);
    const carolStream = await server.connect(carol.client);
    const updates = (events: Array<{ type: string; conversationId: string }>) =>
      events.filter((event) => event.type === 'member-updated').map((event) => event.conversationId);

    await ann.client.api.updateMe({ body: { displayName: 'Ann Again' } });
    await bobStream.until((events) => updates(events).length === 2);
    expect(updates(bobStream.events).sort()).toEqual([trip, direct].sort());
    const event = bobStream.events.find((item) => item.type === 'member-updated');
    expect(event).toMatchObject({ actorId: ann.user.id, user: { id: ann.user.id, displayName: 'Ann Again', username: ann.user.username } });

    // The same name again changes nothing anyone sees: no event.
    await ann.client.api.updateMe({ body: { displayName: 'Ann Again' } });
    const renamed = `${ann.user.username}_2`;
    await ann.client.api.updateMe({ body: { username: renamed } });
    const me = await ann.client.api.uploadAvatar({ upload: { data: await makeImage('png', 64, 64), contentType: 'image/png' } });
    await ann.client.api.deleteAvatar();
    await bobStream.until((events) => updates(events).length === 8);
    const users = bobStream.events.flatMap((item) => (item.type === 'member-updated' && item.conversationId === trip ? [item.user] : []));
    expect(users.map((user) => [user.displayName, user.username, user.avatarUrl])).toEqual([
      ['Ann Again', ann.user.username, null],
      ['Ann Again', renamed, null],
      ['Ann Again', renamed, me.avatarUrl],
      ['Ann Again', renamed, null],
    ]);
    // A conversation Ann is not in hears nothing of it.
    expect(updates(carolStream.events)).toEqual([]);
    expect(updates(bobStream.events)).not.toContain(elsewhere);
    const view = await bob.client.api.getConversation({ params: { conversationId: trip } });
    expect(view.members.find((member) => member.userId === ann.user.id)?.user).toEqual(users.at(-1));
  });
});

describe('avatars', () => {
  it('re-encodes an uploaded PNG to a 256x256 WebP served with a long cache header', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const png = await makeImage('png', 640, 480);
    const me = await ann.client.api.uploadAvatar({ upload: { data: png, contentType: 'image/png' } });
    expect(me.avatarUrl).toMatch(/^\/api\/avatars\/[A-Za-z0-9_-]+$/);
    expect((await ann.client.api.getMe()).avatarUrl).toBe(me.avatarUrl);

    // Public: an <img> tag carries no bearer token.
    const response = await fetch(server.url + me.avatarUrl);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/webp');
    expect(response.headers.get('cache-control')).toContain('immutable');
    const stored = await sharp(Buffer.from(await response.arrayBuffer())).metadata();
    expect(stored).toMatchObject({ format: 'webp', width: AVATAR_SIZE, height: AVATAR_SIZE });
    expect(stored.exif).toBeUndefined();

    // Other accounts see it in the summary.
    const bob = await server.user();
    expect((await bob.client.api.getUser({ params: { userId: ann.user.id } })).avatarUrl).toBe(me.avatarUrl);
  });

  it('accepts a JPEG whatever Content-Type it came with, and strips its metadata', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const jpeg = await sharp(await makeImage('jpeg', 300, 500))
      .withMetadata({ exif: { IFD0: { Copyright: 'secret place' } } })
      .jpeg()
      .toBuffer();
    expect((await sharp(jpeg).metadata()).exif).toBeDefined();
    // The header lies (says PNG); the bytes decide.
    const me = await ann.client.api.uploadAvatar({ upload: { data: jpeg, contentType: 'image/png' } });
    const bytes = await ann.client.api.getAvatar({ params: { avatarId: me.avatarUrl!.split('/').pop()! } });
    const stored = await sharp(Buffer.from(bytes)).metadata();
    expect(stored).toMatchObject({ format: 'webp', width: AVATAR_SIZE, height: AVATAR_SIZE });
    expect(stored.exif).toBeUndefined();
  });

  it('keeps only the first frame of an animated GIF', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const red = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#f00' } }).gif().toBuffer();
    const gradient = await sharp(await makeImage('png', 64, 64)).gif().toBuffer();
    const animation = await sharp([red, gradient], { join: { animated: true } }).gif().toBuffer();
    expect((await sharp(animation).metadata()).pages).toBe(2);
    const me = await ann.client.api.uploadAvatar({ upload: { data: animation, contentType: 'image/gif' } });
    const bytes = await ann.client.api.getAvatar({ params: { avatarId: me.avatarUrl!.split('/').pop()! } });
    const stored = await sharp(Buffer.from(bytes)).metadata();
    expect(stored).toMatchObject({ format: 'webp', width: AVATAR_SIZE, height: AVATAR_SIZE });
    expect(stored.pages ?? 1).toBe(1);
  });

  it('a new upload gets a new URL and the old file is gone', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const first = await ann.client.api.uploadAvatar({ upload: { data: await makeImage('png'), contentType: 'image/png' } });
    const second = await ann.client.api.uploadAvatar({ upload: { data: await makeImage('webp'), contentType: 'image/webp' } });
    expect(second.avatarUrl).not.toBe(first.avatarUrl);
    expect((await fetch(server.url + second.avatarUrl)).status).toBe(200);
    await expect.poll(async () => (await fetch(server.url + first.avatarUrl)).status).toBe(404);
  });

  it('deleting the avatar clears it and removes the file', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const uploaded = await ann.client.api.uploadAvatar({ upload: { data: await makeImage('png'), contentType: 'image/png' } });
    const cleared = await ann.client.api.deleteAvatar();
    expect(cleared.avatarUrl).toBeNull();
    expect((await ann.client.api.getMe()).avatarUrl).toBeNull();
    await expect.poll(async () => (await fetch(server.url + uploaded.avatarUrl)).status).toBe(404);
    // Deleting again is harmless.
    expect((await ann.client.api.deleteAvatar()).avatarUrl).toBeNull();
  });

  it('refuses text dressed up as an image, and keeps the old avatar', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const before = await ann.client.api.uploadAvatar({ upload: { data: await makeImage('png'), contentType: 'image/png' } });
    const text = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'.repeat(20));
    await expectError(ann.client.api.uploadAvatar({ upload: { data: text, contentType: 'image/png' } }), 'UNSUPPORTED_MEDIA_TYPE', 'body');
    const plain = Buffer.from('just some words, not a picture at all');
    await expectError(ann.client.api.uploadAvatar({ upload: { data: plain, contentType: 'image/jpeg' } }), 'UNSUPPORTED_MEDIA_TYPE', 'body');
    // A real image of a type avatars do not take.
    const tiff = await sharp(await makeImage('png', 32, 32)).tiff().toBuffer();
    await expectError(ann.client.api.uploadAvatar({ upload: { data: tiff, contentType: 'image/png' } }), 'UNSUPPORTED_MEDIA_TYPE', 'body');
    expect((await ann.client.api.getMe()).avatarUrl).toBe(before.avatarUrl);
  });

  it('refuses a truncated image with INVALID_INPUT', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const png = await makeImage('png');
    await expectError(ann.client.api.uploadAvatar({ upload: { data: png.subarray(0, 200), contentType: 'image/png' } }), 'INVALID_INPUT', 'body');
    await expectError(ann.client.api.uploadAvatar({ upload: { data: Buffer.alloc(0), contentType: 'image/png' } }), 'INVALID_INPUT', 'body');
    expect((await ann.client.api.getMe()).avatarUrl).toBeNull();
  });

  it('refuses a body over maxAvatarBytes with 413', async () => {
    await using server = await startTestServer({ config: { maxAvatarBytes: 20_000 } });
    const ann = await server.user();
    const big = await makeImage('png', 400, 400);
    expect(big.length).toBeGreaterThan(20_000);
    const response = await fetch(`${server.url}/api/me/avatar`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${ann.client.token!}`, 'content-type': 'image/png' },
      body: big,
    });
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE', field: 'body' } });
    expect((await ann.client.api.getMe()).avatarUrl).toBeNull();
  });

  it('refuses an image whose header claims too many pixels, before decoding it', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const bomb = await pngClaiming(10_000, 10_000);
    expect(bomb.length).toBeLessThan(1000);
    await expectError(ann.client.api.uploadAvatar({ upload: { data: bomb, contentType: 'image/png' } }), 'PAYLOAD_TOO_LARGE', 'body');
    expect((await ann.client.api.getMe()).avatarUrl).toBeNull();
  });

  it('needs a session to upload or delete, and answers NOT_FOUND for an unknown avatar', async () => {
    await using server = await startTestServer();
    const anonymous = new ParleyClient({ baseUrl: server.url });
    const png = await makeImage('png');
    await expectError(anonymous.api.uploadAvatar({ upload: { data: png, contentType: 'image/png' } }), 'UNAUTHENTICATED');
    await expectError(anonymous.api.deleteAvatar(), 'UNAUTHENTICATED');
    await expectError(anonymous.api.getAvatar({ params: { avatarId: 'no-such-avatar' } }), 'NOT_FOUND', 'params.avatarId');
    await expectError(anonymous.api.getAvatar({ params: { avatarId: 'not an id!' } }), 'INVALID_INPUT', 'params.avatarId');
  });
});
