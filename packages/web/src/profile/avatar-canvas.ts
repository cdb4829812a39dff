import { type CropPlan, cropPlan, type PixelArea } from './avatar-crop.js';

/** Draws the plan's square of `image` onto `canvas`, sized to the plan's output (the preview and the upload share it). */
export function drawCrop(canvas: HTMLCanvasElement, image: HTMLImageElement, plan: CropPlan): void {
  canvas.width = plan.out;
  canvas.height = plan.out;
  const context = canvas.getContext('2d');
  if (!context) return;
  context.imageSmoothingQuality = 'high';
  context.clearRect(0, 0, plan.out, plan.out);
  context.drawImage(image, plan.sx, plan.sy, plan.side, plan.side, 0, 0, plan.out, plan.out);
}

/**
 * The chosen square of the picture as an image file to upload [WB51]: WebP where the browser
 * writes it, else PNG (the canvas falls back by itself; the blob says which it made).
 */
export async function croppedAvatar(image: HTMLImageElement, area: PixelArea): Promise<Blob> {
  const canvas = document.createElement('canvas');
  drawCrop(canvas, image, cropPlan(area, { width: image.naturalWidth, height: image.naturalHeight }));
  const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/webp', 0.9));
  if (!blob) throw new Error('the picture could not be drawn');
  return blob;
}
