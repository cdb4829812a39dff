import type { Me } from '@parley/protocol';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { markAnswered, profileStepDue } from './profile-step.js';

const me = (change: Partial<Me> = {}): Me => ({
  id: 'u1',
  username: 'ann',
  displayName: 'Ann',
  avatarUrl: null,
  kind: 'human',
  ageBand: 'adult',
  profileComplete: true,
  groupChatsAllowed: true,
  admin: false,
  createdAt: '2026-12-03T10:00:00.000Z',
  ...change,
});

describe('when the profile step comes', () => {
  beforeEach(() => {
    const stored = new Map<string, string>();
    vi.stubGlobal('localStorage', {
      getItem: (key: string) => stored.get(key) ?? null,
      setItem: (key: string, value: string) => void stored.set(key, value),
    });
  });
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('[WB52] always without a display name, even in a group and after an answer', () => {
    markAnswered('u1');
    expect(profileStepDue(me({ profileComplete: false, displayName: null }), true)).toBe(true);
  });

  it('[WB52] before the first group of an account with a name and no picture, until answered in this browser', () => {
    expect(profileStepDue(me(), false)).toBe(true);
    expect(profileStepDue(me(), true)).toBe(false);
    markAnswered('u1');
    expect(profileStepDue(me(), false)).toBe(false);
    // Another account of the same browser is asked for itself.
    expect(profileStepDue(me({ id: 'u2' }), false)).toBe(true);
  });

  it('[WB52] never with a name and a picture', () => {
    expect(profileStepDue(me({ avatarUrl: '/api/avatars/a1' }), false)).toBe(false);
  });

  it('[WB52] a browser that refuses storage asks again rather than failing', () => {
    vi.stubGlobal('localStorage', {
      getItem: () => {
        throw new Error('denied');
      },
      setItem: () => {
        throw new Error('denied');
      },
    });
    expect(() => markAnswered('u1')).not.toThrow();
    expect(profileStepDue(me(), false)).toBe(true);
  });
});
