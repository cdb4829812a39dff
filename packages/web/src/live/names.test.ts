import { describe, expect, it } from 'vitest';
import { previewOf } from './names.js';

describe('previewOf', () => {
  it('[WB6] shows a message in the sidebar as plain text', () => {
    expect(previewOf('Chamonix is **lovely**\nin `winter`, see [the map](https://example.com)')).toBe('Chamonix is lovely in winter, see the map');
  });
});
