import { describe, expect, it } from 'vitest';
import { AVATAR_OUTPUT, cropPlan, MAX_ZOOM, MIN_ZOOM, stepZoom } from './avatar-crop.js';

describe('avatar crop arithmetic', () => {
  it('[WB51] cuts the chosen square out of the image and scales it down to the output side', () => {
    expect(cropPlan({ x: 200, y: 100, width: 1000, height: 1000 }, { width: 1600, height: 1200 })).toEqual({ sx: 200, sy: 100, side: 1000, out: AVATAR_OUTPUT });
  });

  it('[WB51] never scales a small square up', () => {
    expect(cropPlan({ x: 10, y: 0, width: 120, height: 120 }, { width: 200, height: 120 })).toEqual({ sx: 10, sy: 0, side: 120, out: 120 });
  });

  it('[WB51] makes a square of an area a rounding error off, centred where the area was', () => {
    // 300.6 × 299.4 around (450.3, 349.7): a side of 299 centred there.
    const plan = cropPlan({ x: 300, y: 200, width: 300.6, height: 299.4 }, { width: 1000, height: 1000 });
    expect(plan.side).toBe(299);
    expect(plan.sx).toBe(Math.round(300 + 300.6 / 2 - 299 / 2));
    expect(plan.sy).toBe(Math.round(200 + 299.4 / 2 - 299 / 2));
  });

  it('[WB51] keeps the square inside the image when the area goes past an edge', () => {
    expect(cropPlan({ x: -5, y: 790, width: 220, height: 220 }, { width: 800, height: 1000 })).toEqual({ sx: 0, sy: 780, side: 220, out: 220 });
    expect(cropPlan({ x: 700, y: -3, width: 150, height: 150 }, { width: 800, height: 600 })).toEqual({ sx: 650, sy: 0, side: 150, out: 150 });
  });

  it('[WB51] is never larger than the image, nor empty', () => {
    expect(cropPlan({ x: 0, y: 0, width: 900, height: 900 }, { width: 640, height: 480 })).toEqual({ sx: 160, sy: 0, side: 480, out: 480 });
    expect(cropPlan({ x: 0, y: 0, width: 0.2, height: 0.2 }, { width: 1, height: 1 })).toEqual({ sx: 0, sy: 0, side: 1, out: 1 });
  });

  it('[WB51] honours a smaller output side', () => {
    expect(cropPlan({ x: 0, y: 0, width: 400, height: 400 }, { width: 400, height: 400 }, 256).out).toBe(256);
  });

  it('[WB51] zooms by steps within the range, without float drift', () => {
    let zoom = MIN_ZOOM;
    for (let press = 0; press < 3; press += 1) zoom = stepZoom(zoom, 1);
    expect(zoom).toBe(1.3);
    expect(stepZoom(MIN_ZOOM, -1)).toBe(MIN_ZOOM);
    expect(stepZoom(MAX_ZOOM, 1)).toBe(MAX_ZOOM);
    expect(stepZoom(3.95, 1)).toBe(MAX_ZOOM);
  });
});
