import { ParleyClient } from '@parley/sdk';
import { describe, expect, it } from 'vitest';
import { startTestServer } from '../test/harness.js';

async function expectError(promise: Promise<unknown>, code: string, field?: string): Promise<void> {
  await expect(promise).rejects.toMatchObject({ code, ...(field ? { field } : {}) });
}

describe('profile', () => {
  it('an incomplete profile can neither create a group nor be added to one, until it has a display name', async () => {
    await using server = await startTestServer();
    const fresh = await server.user(undefined, { displayName: null });
    const ann = await server.user();
    expect(fresh.user).toMatchObject({ profileComplete: false, displayName: null });

    await expectError(fresh.client.api.createConversation({ body: { kind: 'group', usernames: [ann.user.username] } }), 'PROFILE_INCOMPLETE');
    await expectError(
      ann.client.api.createConversation({ body: { kind: 'group', usernames: [fresh.user.username] } }),
      'PROFILE_INCOMPLETE',
      'body.usernames.0',
    );
    expect((await ann.client.api.listConversations()).conversations).toEqual([]);
    // One-to-one chats do not need the profile.
    await fresh.client.api.createConversation({ body: { kind: 'assistant' } });
    await fresh.client.api.createConversation({ body: { kind: 'direct', username: ann.user.username } });

    const me = await fresh.client.api.updateMe({ body: { displayName: '  Fresh Face  ' } });
    expect(me).toMatchObject({ profileComplete: true, displayName: 'Fresh Face' });
    const own = await fresh.client.api.createConversation({ body: { kind: 'group', usernames: [ann.user.username] } });
    expect(own.members.map((member) => member.userId).sort()).toEqual([fresh.user.id, ann.user.id, server.assistant.userId].sort());
    const added = await ann.client.api.createConversation({ body: { kind: 'group', usernames: [fresh.user.username] } });
    expect(added.members.find((member) => member.userId === fresh.user.id)?.user.displayName).toBe('Fresh Face');
  });

  it('changes the username; a taken one is refused with USERNAME_TAKEN and nothing changes', async () => {
    await using server = await startTestServer();
    const ann = await server.user('ann_profile');
    const bob = await server.user('bob_profile');

    // Usernames are case-insensitive: BOB_PROFILE is bob's.
    await expectError(ann.client.api.updateMe({ body: { username: 'BOB_PROFILE', displayName: 'Not Applied' } }), 'USERNAME_TAKEN', 'body.username');
    expect(await ann.client.api.getMe()).toEqual(ann.user);

    const renamed = await ann.client.api.updateMe({ body: { username: 'anna_profile' } });
    expect(renamed.username).toBe('anna_profile');
    expect((await bob.client.api.getUserByUsername({ params: { username: 'anna_profile' } })).id).toBe(ann.user.id);
    await expectError(bob.client.api.getUserByUsername({ params: { username: 'ann_profile' } }), 'NOT_FOUND');
    // Keeping one's own name is not a conflict.
    expect((await ann.client.api.updateMe({ body: { username: 'anna_profile' } })).username).toBe('anna_profile');
    // The old name is free for someone else.
    const cat = await server.user('ann_profile');
    expect(cat.user.id).not.toBe(ann.user.id);
    await expectError(
      ParleyClient.signUp(server.url, { username: 'anna_profile', password: 'another good password' }),
      'USERNAME_TAKEN',
      'body.username',
    );
  });

  it('refuses malformed profile updates, naming the field, and anonymous ones', async () => {
    await using server = await startTestServer();
    const ann = await server.user();
    await expectError(ann.client.api.updateMe({ body: {} }), 'INVALID_INPUT', 'body');
    await expectError(ann.client.api.updateMe({ body: { displayName: '   ' } }), 'INVALID_INPUT', 'body.displayName');
    await expectError(ann.client.api.updateMe({ body: { displayName: 'x'.repeat(65) } }), 'INVALID_INPUT', 'body.displayName');
    await expectError(ann.client.api.updateMe({ body: { username: 'no spaces allowed' } }), 'INVALID_INPUT', 'body.username');
    await expectError(ann.client.api.updateMe({ body: { username: 'ab' } }), 'INVALID_INPUT', 'body.username');
    expect(await ann.client.api.getMe()).toEqual(ann.user);
    const anonymous = new ParleyClient({ baseUrl: server.url });
    await expectError(anonymous.api.updateMe({ body: { displayName: 'Ghost' } }), 'UNAUTHENTICATED');
    await expectError(anonymous.api.getMe(), 'UNAUTHENTICATED');
  });
});
