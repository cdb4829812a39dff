import type { UserSummary } from '@parley/protocol';
import { initialsOf, nameOf } from '../live/names.js';

const palette = ['bg-rose-500', 'bg-amber-500', 'bg-emerald-500', 'bg-sky-500', 'bg-violet-500', 'bg-fuchsia-500', 'bg-teal-500', 'bg-orange-500'];

function colorOf(id: string): string {
  let hash = 0;
  for (const char of id) hash = (hash * 31 + char.charCodeAt(0)) | 0;
  return palette[Math.abs(hash) % palette.length] ?? 'bg-zinc-500';
}

export function Avatar({ user, label, id, size = 'md' }: { user?: UserSummary | undefined; label?: string; id?: string; size?: 'sm' | 'md' }) {
  const name = label ?? nameOf(user);
  const box = size === 'sm' ? 'h-7 w-7 text-[0.65rem]' : 'h-9 w-9 text-xs';
  if (user?.avatarUrl) return <img src={user.avatarUrl} alt="" className={`${box} shrink-0 rounded-full object-cover`} />;
  const bot = user?.kind === 'bot';
  return (
    <span aria-hidden="true" className={`${box} ${bot ? 'bg-indigo-600' : colorOf(id ?? user?.id ?? name)} inline-flex shrink-0 items-center justify-center rounded-full font-semibold text-white`}>
      {bot ? '✦' : initialsOf(name)}
    </span>
  );
}
