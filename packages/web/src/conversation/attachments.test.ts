import { describe, expect, it } from 'vitest';
import { ACCEPTED_TYPES, formatSize, uploadName, uploadType } from './attachments.js';

describe('attachments before upload', () => {
  it('[WB34] the accepted types are the route table\'s; a refused type is known before uploading', () => {
    expect(ACCEPTED_TYPES).toContain('image/png');
    expect(ACCEPTED_TYPES).toContain('application/pdf');
    expect(uploadType({ name: 'cat.png', type: 'image/png' })).toBe('image/png');
    expect(uploadType({ name: 'notes.md', type: '' })).toBe('text/markdown');
    expect(uploadType({ name: 'data.csv', type: 'application/octet-stream' })).toBe('text/csv');
    expect(uploadType({ name: 'film.mp4', type: 'video/mp4' })).toBeNull();
    expect(uploadType({ name: 'film.png', type: 'video/mp4' })).toBeNull();
    expect(uploadType({ name: 'archive.zip', type: '' })).toBeNull();
  });

  it('[WB34] a name the server would refuse is made acceptable; a pasted image gets a name', () => {
    expect(uploadName('a/b\\c\u0001.txt', 'text/plain')).toBe('a_b_c_.txt');
    expect(uploadName('<img src=x onerror=alert(1)>.txt', 'text/plain')).toBe('<img src=x onerror=alert(1)>.txt');
    expect(uploadName('image.png', 'image/png')).toBe('pasted-image.png');
    expect(uploadName('', 'image/jpeg')).toBe('pasted-image.jpeg');
    const long = uploadName(`${'x'.repeat(300)}.pdf`, 'application/pdf');
    expect(long).toHaveLength(200);
    expect(long.endsWith('.pdf')).toBe(true);
  });

  it('[WB35] [WB64] sizes read like people write them, in their language', () => {
    // Whatever space the language puts between number and unit (French: a no-break space).
    const plain = (text: string) => text.replace(/\s/gu, ' ');
    expect(plain(formatSize(512, 'en'))).toBe('512 B');
    expect(plain(formatSize(73, 'fr'))).toBe('73 o');
    expect(plain(formatSize(3500, 'en'))).toBe('3.4 kB');
    expect(plain(formatSize(3500, 'fr'))).toBe('3,4 ko');
    expect(plain(formatSize(20 * 1024 * 1024, 'en'))).toBe('20 MB');
    expect(plain(formatSize(20 * 1024 * 1024, 'fr'))).toBe('20 Mo');
    expect(plain(formatSize(3 * 1024 ** 3, 'fr'))).toBe('3,0 Go');
  });
});
