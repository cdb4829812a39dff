/** An area of an image in its own pixels, as the cropper reports it. */
export interface PixelArea {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** What to draw: the square of the image at (`sx`, `sy`) of side `side`, scaled onto a canvas of side `out`. */
export interface CropPlan {
  sx: number;
  sy: number;
  side: number;
  out: number;
}

/** The side of the uploaded square at most: the server re-encodes to a smaller one, this leaves it room. */
export const AVATAR_OUTPUT = 512;

export const MIN_ZOOM = 1;
export const MAX_ZOOM = 4;
export const ZOOM_STEP = 0.1;

/**
 * The square to cut out of an image of `image` size for the area the cropper chose [WB51]: whole
 * pixels, a square even when rounding made the area a pixel off, inside the image, centred where
 * the area was; and the canvas side, never larger than the square (no upscaling) nor than `maxOut`.
 */
export function cropPlan(area: PixelArea, image: { width: number; height: number }, maxOut = AVATAR_OUTPUT): CropPlan {
  const imageWidth = Math.max(1, Math.floor(image.width));
  const imageHeight = Math.max(1, Math.floor(image.height));
  const side = Math.max(1, Math.min(Math.round(Math.min(area.width, area.height)), imageWidth, imageHeight));
  const centreX = area.x + area.width / 2;
  const centreY = area.y + area.height / 2;
  const clamp = (value: number, max: number) => Math.min(Math.max(0, value), max);
  return {
    sx: clamp(Math.round(centreX - side / 2), imageWidth - side),
    sy: clamp(Math.round(centreY - side / 2), imageHeight - side),
    side,
    out: Math.max(1, Math.min(side, Math.floor(maxOut))),
  };
}

/** The zoom after one key press (`+1` in, `-1` out), within the cropper's range and free of float drift. */
export function stepZoom(zoom: number, direction: 1 | -1, step = ZOOM_STEP): number {
  const next = Math.round((zoom + direction * step) * 100) / 100;
  return Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, next));
}
