import fs from 'node:fs';
import path from 'node:path';
import { ParleyClient } from '@parley/sdk';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { failure, messageId, recordingLogger, startTestServer, type TestServer } from '../test/harness.js';
import { sweepUnsentUploads } from './unsent-uploads.js';

function image(format: 'png' | 'jpeg' | 'webp' | 'gif'): Promise<Buffer> {
  return sharp({ create: { width: 4, height: 3, channels: 3, background: { r: 200, g: 30, b: 60 } } })
    .toFormat(format)
    .toBuffer();
}

const PDF = Buffer.from(
  '%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n',
);

/** A request the SDK would not make: any path, body and headers, with the client's token. */
function raw(server: TestServer, client: ParleyClient, pathAndQuery: string, init: { method?: string; headers?: Record<string, string>; body?: NonNullable<NonNullable<Parameters<typeof fetch>[1]>['body']> }) {
  return fetch(server.url + pathAndQuery, {
    ...init,
    headers: { authorization: `Bearer ${client.token ?? ''}`, ...init.headers },
  });
}

async function storedAttachments(server: TestServer) {
  const rows = await server.server.context.storage.reader.selectFrom('attachments').selectAll().execute();
  const files = fs.readdirSync(path.join(server.dataDir, 'attachments'));
  return { rows, files };
}

describe('uploading attachments', () => {
  it('stores images and PDFs under the type sniffed from their bytes, and gives them back to the uploader', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const files: Array<{ data: Buffer; contentType: string }> = [
      { data: await image('png'), contentType: 'image/png' },
      { data: await image('jpeg'), contentType: 'image/jpeg' },
      { data: await image('webp'), contentType: 'image/webp' },
      { data: await image('gif'), contentType: 'image/gif' },
      { data: PDF, contentType: 'application/pdf' },
    ];
    for (const [index, file] of files.entries()) {
      const attachment = await ann.client.api.uploadAttachment({ query: { filename: `file-${index}` }, upload: file });
      expect(attachment).toMatchObject({ filename: `file-${index}`, contentType: file.contentType, size: file.data.length, url: `/api/attachments/${attachment.id}` });
      const response = await raw(server, ann.client, attachment.url, {});
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe(file.contentType);
      expect(response.headers.get('content-disposition')).toBe(`inline; filename="file-${index}"; filename*=UTF-8''file-${index}`);
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('content-security-policy')).toBe("default-src 'none'; sandbox");
      expect(Buffer.from(await response.arrayBuffer()).equals(file.data)).toBe(true);
    }
    const { rows, files: onDisk } = await storedAttachments(server);
    expect(rows).toHaveLength(files.length);
    expect(onDisk.sort()).toEqual(rows.map((row) => row.id).sort());
  });

  it('never trusts the declared type of a binary format: a PDF declared as PNG is stored as a PDF', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const png = await image('png');
    const asPng = await ann.client.api.uploadAttachment({ query: { filename: 'photo.png' }, upload: { data: PDF, contentType: 'image/png' } });
    expect(asPng.contentType).toBe('application/pdf');
    const asText = await ann.client.api.uploadAttachment({ query: { filename: 'notes.txt' }, upload: { data: png, contentType: 'text/plain' } });
    expect(asText.contentType).toBe('image/png');
    const asOctets = await ann.client.api.uploadAttachment({
      query: { filename: 'x' },
      upload: { data: png, contentType: 'application/octet-stream' },
    });
    expect(asOctets.contentType).toBe('image/png');
    const response = await raw(server, ann.client, asPng.url, {});
    expect(response.headers.get('content-type')).toBe('application/pdf');
  });

  it('accepts UTF-8 text declared as text, served as a download', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const cases = [
      { contentType: 'text/plain', text: 'hello, wörld ✓\n', stored: 'text/plain; charset=utf-8' },
      { contentType: 'text/markdown; charset=utf-8', text: '# Plan\n\n- **bold**\n', stored: 'text/markdown; charset=utf-8' },
      { contentType: 'TEXT/CSV', text: 'name,age\nann,30\n', stored: 'text/csv; charset=utf-8' },
      // Text that happens to start like a binary format ("BM" is a bitmap's signature) is still text.
      { contentType: 'text/plain', text: 'BMW sales 2025\n', stored: 'text/plain; charset=utf-8' },
      // Markup is fine as text: it is served as text/plain and never rendered.
      { contentType: 'text/plain', text: '<html><script>alert(1)</script></html>', stored: 'text/plain; charset=utf-8' },
    ];
    for (const item of cases) {
      const attachment = await ann.client.api.uploadAttachment({
        query: { filename: 'notes' },
        upload: { data: new TextEncoder().encode(item.text), contentType: item.contentType },
      });
      expect(attachment.contentType, item.text).toBe(item.stored);
      const response = await raw(server, ann.client, attachment.url, {});
      expect(response.headers.get('content-type')).toBe(item.stored);
      expect(response.headers.get('content-disposition')).toMatch(/^attachment; /);
      expect(response.headers.get('content-security-policy')).toBe("default-src 'none'; sandbox");
      expect(await response.text()).toBe(item.text);
    }
  });

  it('refuses what is not an image, PDF or UTF-8 text with UNSUPPORTED_MEDIA_TYPE, storing nothing', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const zip = Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00, 0x08, 0x00, ...new Array<number>(40).fill(0)]);
    const refused: Array<{ data: Uint8Array; contentType: string }> = [
      // Not valid UTF-8.
      { data: Buffer.from([0x68, 0x69, 0xff, 0xfe, 0x0a]), contentType: 'text/plain' },
      // NUL bytes.
      { data: Buffer.from('a\u0000b'), contentType: 'text/plain' },
      // Text, but declared as something that is not text.
      { data: Buffer.from('hello'), contentType: 'image/png' },
      { data: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'), contentType: 'image/svg+xml' },
      { data: Buffer.from('<html></html>'), contentType: 'text/html' },
      // A recognised binary format that is not allowed, whatever it claims.
      { data: zip, contentType: 'application/zip' },
      { data: zip, contentType: 'text/plain' },
    ];
    for (const upload of refused) {
      const error = await failure(ann.client.api.uploadAttachment({ query: { filename: 'x' }, upload }));
      expect(error, upload.contentType).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE', status: 415, field: 'body' });
    }
    expect(await storedAttachments(server)).toEqual({ rows: [], files: [] });
  });

  it('refuses bad filenames, empty and missing bodies, and strangers, storing nothing', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const png = await image('png');
    for (const filename of ['', '   ', 'a/b.png', 'a\\b.png', 'line\nbreak', 'x'.repeat(201)]) {
      const error = await failure(ann.client.api.uploadAttachment({ query: { filename }, upload: { data: png, contentType: 'image/png' } }));
      expect(error, JSON.stringify(filename)).toMatchObject({ code: 'INVALID_INPUT', field: 'query.filename' });
    }
    const noName = await raw(server, ann.client, '/api/attachments', { method: 'POST', headers: { 'content-type': 'image/png' }, body: png });
    expect(noName.status).toBe(400);
    expect(await noName.json()).toMatchObject({ error: { code: 'INVALID_INPUT', field: 'query.filename' } });

    const empty = await failure(ann.client.api.uploadAttachment({ query: { filename: 'x' }, upload: { data: new Uint8Array(0), contentType: 'text/plain' } }));
    expect(empty).toMatchObject({ code: 'INVALID_INPUT', field: 'body' });
    const noBody = await raw(server, ann.client, '/api/attachments?filename=x', { method: 'POST' });
    expect(noBody.status).toBe(400);
    expect(await noBody.json()).toMatchObject({ error: { code: 'INVALID_INPUT', field: 'body' } });

    const stranger = await fetch(`${server.url}/api/attachments?filename=x`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: png });
    expect(stranger.status).toBe(401);
    expect(await stranger.json()).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });
    expect(await storedAttachments(server)).toEqual({ rows: [], files: [] });
  });

  it('refuses files over maxUploadBytes with PAYLOAD_TOO_LARGE', async () => {
    // The route's body limit is the larger of the upload and avatar limits, so both paths are
    // tried: Fastify's own limit, and the handler's check below it.
    {
      await using server = await startTestServer({ config: { maxUploadBytes: 1000, maxAvatarBytes: 1000 } });
      const ann = await server.user();
      const error = await failure(
        ann.client.api.uploadAttachment({ query: { filename: 'big.txt' }, upload: { data: Buffer.alloc(1001, 0x61), contentType: 'text/plain' } }),
      );
      expect(error).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', status: 413, field: 'body' });
      const fits = await ann.client.api.uploadAttachment({ query: { filename: 'ok.txt' }, upload: { data: Buffer.alloc(1000, 0x61), contentType: 'text/plain' } });
      expect(fits.size).toBe(1000);
    }
    {
      await using server = await startTestServer({ config: { maxUploadBytes: 1000, maxAvatarBytes: 100_000 } });
      const ann = await server.user();
      const error = await failure(
        ann.client.api.uploadAttachment({ query: { filename: 'big.txt' }, upload: { data: Buffer.alloc(5000, 0x61), contentType: 'text/plain' } }),
      );
      expect(error).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', status: 413, field: 'body' });
      expect(await storedAttachments(server)).toEqual({ rows: [], files: [] });
    }
  });

  it('encodes the filename safely in content-disposition', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const filename = 'résumé "final"; v2 (1).txt';
    const attachment = await ann.client.api.uploadAttachment({ query: { filename }, upload: { data: Buffer.from('cv'), contentType: 'text/plain' } });
    expect(attachment.filename).toBe(filename);
    const response = await raw(server, ann.client, attachment.url, {});
    expect(response.headers.get('content-disposition')).toBe(
      `attachment; filename="r_sum_ _final__ v2 (1).txt"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%22final%22%3B%20v2%20%281%29.txt`,
    );
  });
});

describe('attachments on messages', () => {
  it('upload, send with attachmentIds, another member downloads it; a non-member cannot', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const bob = await server.user();
    const carol = await server.user();
    const group = await ann.client.api.createConversation({ body: { kind: 'group', title: 'Photos', usernames: [bob.user.username] } });
    const conversationId = group.conversation.id;
    const png = await image('png');
    const attachment = await ann.client.api.uploadAttachment({ query: { filename: 'beach.png' }, upload: { data: png, contentType: 'image/png' } });

    // Before it is sent, only the uploader can see it.
    const early = await failure(bob.client.api.getAttachment({ params: { attachmentId: attachment.id } }));
    expect(early).toMatchObject({ code: 'NOT_FOUND', field: 'params.attachmentId' });

    const bobStream = await server.connect(bob.client);
    const sent = await ann.client.api.sendMessage({
      params: { conversationId },
      body: { id: messageId(), text: '', attachmentIds: [attachment.id] },
    });
    expect(sent.attachments).toEqual([attachment]);
    await bobStream.until((events) => events.some((event) => event.type === 'message-created'));
    expect(bobStream.events.find((event) => event.type === 'message-created')).toMatchObject({ message: { attachments: [attachment] } });

    const downloaded = await bob.client.api.getAttachment({ params: { attachmentId: attachment.id } });
    expect(Buffer.from(downloaded).equals(png)).toBe(true);

    const outsider = await failure(carol.client.api.getAttachment({ params: { attachmentId: attachment.id } }));
    expect(outsider).toMatchObject({ code: 'NOT_FOUND', field: 'params.attachmentId' });
    const anonymous = new ParleyClient({ baseUrl: server.url });
    expect(await failure(anonymous.api.getAttachment({ params: { attachmentId: attachment.id } }))).toMatchObject({ code: 'UNAUTHENTICATED' });
    const unknown = await failure(bob.client.api.getAttachment({ params: { attachmentId: 'no-such-file' } }));
    expect(unknown).toMatchObject({ code: 'NOT_FOUND', field: 'params.attachmentId' });
    const malformed = await raw(server, bob.client, '/api/attachments/..%2F..%2Fparley.sqlite', {});
    expect(malformed.status).toBe(400);
  });

  it("sending someone else's attachment id is NOT_FOUND on body.attachmentIds.N, and nothing is sent", async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const bob = await server.user();
    const group = await ann.client.api.createConversation({ body: { kind: 'group', usernames: [bob.user.username] } });
    const conversationId = group.conversation.id;
    const annFile = await ann.client.api.uploadAttachment({ query: { filename: 'a.txt' }, upload: { data: Buffer.from('ann'), contentType: 'text/plain' } });
    const bobFile = await bob.client.api.uploadAttachment({ query: { filename: 'b.txt' }, upload: { data: Buffer.from('bob'), contentType: 'text/plain' } });

    const first = await failure(
      bob.client.api.sendMessage({ params: { conversationId }, body: { id: messageId(), text: 'look', attachmentIds: [annFile.id] } }),
    );
    expect(first).toMatchObject({ code: 'NOT_FOUND', field: 'body.attachmentIds.0' });
    const second = await failure(
      bob.client.api.sendMessage({ params: { conversationId }, body: { id: messageId(), text: 'look', attachmentIds: [bobFile.id, annFile.id] } }),
    );
    expect(second).toMatchObject({ code: 'NOT_FOUND', field: 'body.attachmentIds.1' });
    expect((await bob.client.api.listMessages({ params: { conversationId } })).messages).toEqual([]);
    // Still not readable by bob: a failed send links nothing.
    expect(await failure(bob.client.api.getAttachment({ params: { attachmentId: annFile.id } }))).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('deleting the message removes its attachments for everyone, file included', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const bob = await server.user();
    const group = await ann.client.api.createConversation({ body: { kind: 'group', usernames: [bob.user.username] } });
    const conversationId = group.conversation.id;
    const kept = await ann.client.api.uploadAttachment({ query: { filename: 'kept.txt' }, upload: { data: Buffer.from('kept'), contentType: 'text/plain' } });
    const gone = await ann.client.api.uploadAttachment({ query: { filename: 'gone.txt' }, upload: { data: Buffer.from('gone'), contentType: 'text/plain' } });
    const first = await ann.client.api.sendMessage({ params: { conversationId }, body: { id: messageId(), attachmentIds: [kept.id, gone.id] } });
    // The same upload shown again in a later message stays while that message does.
    await ann.client.api.sendMessage({ params: { conversationId }, body: { id: messageId(), text: 'again', attachmentIds: [kept.id] } });

    await ann.client.api.deleteMessage({ params: { conversationId, messageId: first.id } });
    for (const client of [ann.client, bob.client]) {
      expect(await failure(client.api.getAttachment({ params: { attachmentId: gone.id } }))).toMatchObject({ code: 'NOT_FOUND' });
      expect(Buffer.from(await client.api.getAttachment({ params: { attachmentId: kept.id } })).toString()).toBe('kept');
    }
    const { rows, files } = await storedAttachments(server);
    expect(rows.map((row) => row.id)).toEqual([kept.id]);
    expect(files).toEqual([kept.id]);
  });
});

describe('unsent uploads', () => {
  const text = (content: string) => ({ data: Buffer.from(content), contentType: 'text/plain' });

  it('an account holds only so many files and bytes not sent in any message; sending one makes room', async () => {
    await using server = await startTestServer({ config: { maxUploadBytes: 100, unsentUploads: { files: 3, bytes: 250, keepHours: 24 } } });
    const ann = await server.user();
    const bob = await server.user();
    const conversationId = (await ann.client.api.createConversation({ body: { kind: 'group', usernames: [bob.user.username] } })).conversation.id;
    const uploads = [];
    for (const name of ['a', 'b', 'c']) uploads.push(await ann.client.api.uploadAttachment({ query: { filename: name }, upload: text(name.repeat(10)) }));

    const tooMany = await failure(ann.client.api.uploadAttachment({ query: { filename: 'd' }, upload: text('dddd') }));
    expect(tooMany).toMatchObject({ code: 'RATE_LIMITED', status: 429, details: { unsentFiles: 3, unsentBytes: 30, maxFiles: 3, maxBytes: 250 } });
    // Until the oldest expires, a day after its upload.
    expect(tooMany.retryAfter).toBeGreaterThan(23 * 3600);
    expect(tooMany.retryAfter).toBeLessThanOrEqual(24 * 3600);
    // Another account is not held back.
    await bob.client.api.uploadAttachment({ query: { filename: 'b1' }, upload: text('bob') });

    // Sent, an upload no longer counts.
    await ann.client.api.sendMessage({ params: { conversationId }, body: { id: messageId(), attachmentIds: [uploads[0]!.id] } });
    const fourth = await ann.client.api.uploadAttachment({ query: { filename: 'd' }, upload: text('d'.repeat(90)) });
    // Bytes: 10 + 10 + 90 unsent; 100 more would pass 250.
    await ann.client.api.sendMessage({ params: { conversationId }, body: { id: messageId(), attachmentIds: [uploads[1]!.id] } });
    await ann.client.api.uploadAttachment({ query: { filename: 'e' }, upload: text('e'.repeat(100)) });
    expect(await failure(ann.client.api.uploadAttachment({ query: { filename: 'f' }, upload: text('f'.repeat(100)) }))).toMatchObject({
      code: 'RATE_LIMITED',
      details: { unsentFiles: 3, unsentBytes: 200 },
    });
    // A refused upload leaves nothing behind.
    const { rows, files } = await storedAttachments(server);
    expect(rows).toHaveLength(6);
    expect(files.sort()).toEqual(rows.map((row) => row.id).sort());
    expect(rows.map((row) => row.id)).toContain(fourth.id);
  });

  it('a file uploaded and never sent is deleted, row and bytes, keepHours after its upload; sent ones stay', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    const bob = await server.user();
    const conversationId = (await ann.client.api.createConversation({ body: { kind: 'group', usernames: [bob.user.username] } })).conversation.id;
    const sent = await ann.client.api.uploadAttachment({ query: { filename: 'sent.txt' }, upload: text('sent') });
    const unsent = await ann.client.api.uploadAttachment({ query: { filename: 'unsent.txt' }, upload: text('unsent') });
    await ann.client.api.sendMessage({ params: { conversationId }, body: { id: messageId(), attachmentIds: [sent.id] } });
    const later = (hours: number) => ({ ...server.server.context, clock: { now: () => new Date(Date.now() + hours * 3_600_000) } });

    expect(await sweepUnsentUploads(later(23))).toBe(0);
    expect((await storedAttachments(server)).files.sort()).toEqual([sent.id, unsent.id].sort());

    expect(await sweepUnsentUploads(later(25))).toBe(1);
    const { rows, files } = await storedAttachments(server);
    expect(rows.map((row) => row.id)).toEqual([sent.id]);
    expect(files).toEqual([sent.id]);
    expect(await failure(ann.client.api.getAttachment({ params: { attachmentId: unsent.id } }))).toMatchObject({ code: 'NOT_FOUND' });
    expect(Buffer.from(await bob.client.api.getAttachment({ params: { attachmentId: sent.id } })).toString()).toBe('sent');
    // Sending the expired upload now says what happened.
    expect(await failure(ann.client.api.sendMessage({ params: { conversationId }, body: { id: messageId(), attachmentIds: [unsent.id] } }))).toMatchObject({
      code: 'NOT_FOUND',
      field: 'body.attachmentIds.0',
    });
  });

  it('a file the sweep cannot remove is reported on the server’s logger, and its row still goes', async () => {
    const { logger, entries } = recordingLogger();
    await using server = await startTestServer({ logger });
    const ann = await server.user();
    const unsent = await ann.client.api.uploadAttachment({ query: { filename: 'unsent.txt' }, upload: text('unsent') });
    // A directory where the file was: removing it without `recursive` fails, as a real fault would.
    const file = path.join(server.dataDir, 'attachments', unsent.id);
    fs.rmSync(file);
    fs.mkdirSync(file);
    fs.writeFileSync(path.join(file, 'inside'), 'x');
    const later = { ...server.server.context, clock: { now: () => new Date(Date.now() + 25 * 3_600_000) } };

    expect(await sweepUnsentUploads(later)).toBe(1);
    expect((await storedAttachments(server)).rows).toEqual([]);
    expect(entries.filter((entry) => entry.level === 'error')).toEqual([
      expect.objectContaining({ msg: 'could not remove an attachment file', attachmentId: unsent.id, err: expect.objectContaining({ message: expect.any(String) }) }),
    ]);
  });
});
