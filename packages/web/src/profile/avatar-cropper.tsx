import 'react-easy-crop/react-easy-crop.css';
import { type KeyboardEvent, useEffect, useId, useRef, useState } from 'react';
import Cropper from 'react-easy-crop';
import { useTranslation } from 'react-i18next';
import { drawCrop } from './avatar-canvas.js';
import { cropPlan, MAX_ZOOM, MIN_ZOOM, type PixelArea, stepZoom, ZOOM_STEP } from './avatar-crop.js';

const PREVIEW = 96;

/**
 * The square cropper of the profile form [WB51], loaded only when a picture is picked: drag or the
 * arrow keys move the picture, the slider, the wheel or + and − zoom, and a round preview shows
 * what the others will see. It reports the chosen area in the picture's own pixels.
 * The library's styles come from its CSS file: the page allows no injected <style> [WB1].
 */
export default function AvatarCropper({ source, onArea }: { source: string; onArea: (area: PixelArea, image: HTMLImageElement) => void }) {
  const { t } = useTranslation();
  const hintId = useId();
  const zoomId = useId();
  const [crop, setCrop] = useState({ x: 0, y: 0 });
  const [zoom, setZoom] = useState(MIN_ZOOM);
  const [image, setImage] = useState<HTMLImageElement | null>(null);
  const [area, setArea] = useState<PixelArea | null>(null);
  const preview = useRef<HTMLCanvasElement>(null);

  useEffect(() => {
    const loaded = new Image();
    loaded.onload = () => setImage(loaded);
    loaded.src = source;
  }, [source]);

  useEffect(() => {
    if (!image || !area || !preview.current) return;
    drawCrop(preview.current, image, cropPlan(area, { width: image.naturalWidth, height: image.naturalHeight }, PREVIEW * 2));
    onArea(area, image);
  }, [image, area]);

  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    if (event.key === '+' || event.key === '=') setZoom((current) => stepZoom(current, 1));
    else if (event.key === '-' || event.key === '_') setZoom((current) => stepZoom(current, -1));
    else return;
    event.preventDefault();
  };

  return (
    <div className="space-y-3" data-testid="avatar-cropper">
      <div className="flex items-center gap-4">
        <div className="relative h-52 min-w-0 flex-1 overflow-hidden rounded-xl bg-zinc-800" onKeyDown={onKeyDown}>
          <Cropper
            image={source}
            crop={crop}
            zoom={zoom}
            minZoom={MIN_ZOOM}
            maxZoom={MAX_ZOOM}
            aspect={1}
            cropShape="round"
            showGrid={false}
            disableAutomaticStylesInjection
            // The library's 1 px per arrow press is too slow to be of use; Shift still moves by a fifth.
            keyboardStep={10}
            onCropChange={setCrop}
            onZoomChange={setZoom}
            onCropAreaChange={(_, pixels) => setArea(pixels)}
            // Its `className` would replace the library's own classes: the focus ring goes through `classes`.
            cropperProps={{ role: 'group', 'aria-label': t('profile.cropArea'), 'aria-describedby': hintId }}
            classes={{ cropAreaClassName: 'focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-400' }}
            mediaProps={{ alt: '' }}
          />
        </div>
        <figure className="flex shrink-0 flex-col items-center gap-1">
          <canvas ref={preview} width={PREVIEW} height={PREVIEW} className="h-24 w-24 rounded-full bg-zinc-200 dark:bg-zinc-700" aria-label={t('profile.preview')} role="img" data-testid="avatar-preview" />
          <figcaption className="text-xs text-zinc-600 dark:text-zinc-400">{t('profile.preview')}</figcaption>
        </figure>
      </div>
      <p id={hintId} className="text-xs text-zinc-600 dark:text-zinc-400">{t('profile.cropHint')}</p>
      <div className="flex items-center gap-3">
        <label htmlFor={zoomId} className="text-sm">{t('profile.zoom')}</label>
        <input
          id={zoomId}
          type="range"
          min={MIN_ZOOM}
          max={MAX_ZOOM}
          step={ZOOM_STEP}
          value={zoom}
          onChange={(event) => setZoom(Number(event.target.value))}
          className="min-w-0 flex-1 accent-indigo-600"
        />
      </div>
    </div>
  );
}
