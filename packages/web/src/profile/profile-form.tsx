import { type Me, ParleyError, routes } from '@parley/protocol';
import { type FormEvent, lazy, type ReactNode, Suspense, useEffect, useId, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useLiveStore } from '../live/use-live.js';
import { Avatar } from '../shell/avatar.js';
import { errorText } from '../shell/errors.js';
import { croppedAvatar } from './avatar-canvas.js';
import type { PixelArea } from './avatar-crop.js';

// The cropper and its library load when a picture is picked, not with the first page [WB51].
const AvatarCropper = lazy(() => import('./avatar-cropper.js'));

const AVATAR_TYPES: readonly string[] = routes.uploadAvatar.upload?.contentTypes ?? [];
const field = 'w-full rounded-lg border bg-white px-3 py-2 text-sm dark:bg-zinc-950';
const plain = 'rounded-lg border border-zinc-300 px-3 py-1.5 text-sm hover:bg-zinc-100 dark:border-zinc-700 dark:hover:bg-zinc-800';

type Field = 'displayName' | 'username' | 'avatar';

/**
 * The mini-profile form [WB51], in the profile step and in the settings: display name, @username
 * (the server's refusal, such as a taken name, shows on its field) and the picture: pick a file,
 * crop it to a square with a live round preview, upload it with Save; or remove the one there is.
 * Every change saved goes into the live state, so the sidebar shows it at once.
 */
export function ProfileForm({ me, onSaved, saveLabel, extraActions }: {
  me: Me;
  onSaved: (me: Me) => void;
  saveLabel: string;
  /** More buttons beside Save (the step's "Skip for now"). */
  extraActions?: ReactNode;
}) {
  const { t } = useTranslation();
  const live = useLiveStore();
  const ids = { displayName: useId(), username: useId(), avatar: useId(), hint: useId() };
  const [displayName, setDisplayName] = useState(me.displayName ?? '');
  const [username, setUsername] = useState(me.username);
  const [picked, setPicked] = useState<string | null>(null);
  const crop = useRef<{ area: PixelArea; image: HTMLImageElement } | null>(null);
  const [errors, setErrors] = useState<Partial<Record<Field | 'form', string>>>({});
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);

  useEffect(() => () => {
    if (picked) URL.revokeObjectURL(picked);
  }, [picked]);

  const fail = (caught: unknown, fallback: Field | 'form') => {
    let where: Field | 'form' = fallback;
    let text = errorText(t, caught);
    if (caught instanceof ParleyError) {
      if (caught.field === 'body.username') where = 'username';
      else if (caught.field === 'body.displayName') where = 'displayName';
      if (where === 'username' && caught.code === 'INVALID_INPUT') text = t('profile.usernameRule');
      if (where === 'displayName' && caught.code === 'INVALID_INPUT') text = t('profile.displayNameRule');
    }
    setErrors({ [where]: text });
  };

  const pick = (file: File | undefined) => {
    setSaved(false);
    setErrors({});
    crop.current = null;
    if (!file) return;
    if (!AVATAR_TYPES.includes(file.type)) {
      setPicked(null);
      setErrors({ avatar: t('profile.avatarType') });
      return;
    }
    setPicked(URL.createObjectURL(file));
  };

  const save = async (event: FormEvent) => {
    event.preventDefault();
    setErrors({});
    setSaved(false);
    setBusy(true);
    let current = me;
    try {
      const name = displayName.trim();
      const handle = username.trim().replace(/^@/, '');
      const body = {
        ...(name !== (me.displayName ?? '') || !me.profileComplete ? { displayName: name } : {}),
        ...(handle !== me.username ? { username: handle } : {}),
      };
      if (Object.keys(body).length > 0) {
        try {
          current = await live.client.api.updateMe({ body });
        } catch (caught) {
          fail(caught, 'form');
          return;
        }
        live.setMe(current);
      }
      if (picked) {
        if (!crop.current) return setErrors({ avatar: t('profile.avatarNotReady') });
        try {
          const blob = await croppedAvatar(crop.current.image, crop.current.area);
          current = await live.client.api.uploadAvatar({ upload: { data: blob, contentType: blob.type } });
        } catch (caught) {
          fail(caught, 'avatar');
          return;
        }
        live.setMe(current);
        setPicked(null);
        crop.current = null;
      }
      setSaved(true);
      onSaved(current);
    } finally {
      setBusy(false);
    }
  };

  const removeAvatar = async () => {
    setErrors({});
    setSaved(false);
    try {
      live.setMe(await live.client.api.deleteAvatar());
    } catch (caught) {
      fail(caught, 'avatar');
    }
  };

  const errorOf = (name: Field) =>
    errors[name] ? (
      <p id={`${ids[name]}-error`} role="alert" className="text-sm text-red-600 dark:text-red-400" data-error-of={name}>
        {errors[name]}
      </p>
    ) : null;
  const border = (name: Field) => (errors[name] ? 'border-red-600 dark:border-red-400' : 'border-zinc-300 dark:border-zinc-700');
  const invalid = (name: Field) => (errors[name] ? { 'aria-invalid': true, 'aria-describedby': `${ids[name]}-error` } : {});

  return (
    <form onSubmit={(event) => void save(event)} className="space-y-4" data-testid="profile-form" noValidate>
      <div className="space-y-1">
        <label htmlFor={ids.displayName} className="block text-sm font-medium">{t('auth.displayName')}</label>
        <input id={ids.displayName} className={`${field} ${border('displayName')}`} autoComplete="name" maxLength={64} value={displayName} onChange={(event) => setDisplayName(event.target.value)} data-autofocus {...invalid('displayName')} />
        {errorOf('displayName')}
      </div>
      <div className="space-y-1">
        <label htmlFor={ids.username} className="block text-sm font-medium">{t('auth.username')}</label>
        <div className="flex items-center gap-1">
          <span aria-hidden="true" className="text-zinc-600 dark:text-zinc-400">@</span>
          <input id={ids.username} className={`${field} ${border('username')}`} autoComplete="username" autoCapitalize="none" spellCheck={false} maxLength={33} value={username} onChange={(event) => setUsername(event.target.value)} {...invalid('username')} />
        </div>
        {errorOf('username')}
      </div>
      <fieldset className="space-y-2">
        <legend className="text-sm font-medium">{t('profile.avatar')}</legend>
        {picked ? (
          <Suspense fallback={<p className="text-sm text-zinc-600 dark:text-zinc-400">{t('common.loading')}</p>}>
            <AvatarCropper source={picked} onArea={(area, image) => (crop.current = { area, image })} />
          </Suspense>
        ) : (
          <div className="flex items-center gap-3">
            <Avatar user={me} size="lg" />
            <p className="text-sm text-zinc-600 dark:text-zinc-400">{me.avatarUrl ? t('profile.avatarSet') : t('profile.noAvatar')}</p>
          </div>
        )}
        <div className="flex flex-wrap items-center gap-2">
          <label className={`${plain} cursor-pointer has-[:focus-visible]:outline-2 has-[:focus-visible]:outline-indigo-500`}>
            {picked || me.avatarUrl ? t('profile.changeAvatar') : t('profile.chooseAvatar')}
            <input
              id={ids.avatar}
              type="file"
              accept={AVATAR_TYPES.join(',')}
              className="sr-only"
              onChange={(event) => {
                pick(event.target.files?.[0]);
                event.target.value = '';
              }}
              {...invalid('avatar')}
            />
          </label>
          {picked && <button type="button" className={plain} onClick={() => pick(undefined)}>{t('profile.cancelAvatar')}</button>}
          {!picked && me.avatarUrl && <button type="button" className={`${plain} text-red-700 dark:text-red-400`} onClick={() => void removeAvatar()}>{t('profile.removeAvatar')}</button>}
        </div>
        {errorOf('avatar')}
      </fieldset>
      {errors.form && <p role="alert" className="text-sm text-red-600 dark:text-red-400">{errors.form}</p>}
      <div className="flex flex-wrap items-center justify-end gap-2">
        <span role="status" className="mr-auto text-sm text-emerald-700 dark:text-emerald-400">{saved ? t('settings.saved') : ''}</span>
        {extraActions}
        <button type="submit" disabled={busy} className="rounded-lg bg-indigo-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-indigo-500 disabled:opacity-60">{saveLabel}</button>
      </div>
    </form>
  );
}
