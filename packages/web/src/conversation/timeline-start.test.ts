import { describe, expect, it } from 'vitest';
import { timelineStart } from './timeline-start.js';

const FIRST = 1_000_000;

describe('[WB9] where the timeline count starts', () => {
  it('items added at the end leave it where it is, so the list follows them', () => {
    const start = timelineStart({ key: '', index: FIRST }, ['m1', 'm2']);
    expect(start).toEqual({ key: 'm1', index: FIRST });
    // Two call cards back to back, then the answer: the regression of the apps' browser test.
    expect(timelineStart(start, ['m1', 'm2', 'call-a'])).toBe(start);
    expect(timelineStart(start, ['m1', 'm2', 'call-a', 'call-b', 'm3'])).toBe(start);
  });

  it('goes down by what an older page puts before the first item', () => {
    const start = { key: 'm3', index: FIRST };
    expect(timelineStart(start, ['m1', 'call-a', 'm2', 'm3', 'm4'])).toEqual({ key: 'm1', index: FIRST - 3 });
  });

  it('a first item that went away moves nothing', () => {
    expect(timelineStart({ key: 'divider', index: FIRST - 2 }, ['m5', 'm6'])).toEqual({ key: 'm5', index: FIRST - 2 });
    expect(timelineStart({ key: 'm1', index: FIRST }, [])).toEqual({ key: 'm1', index: FIRST });
  });
});
