import type { UserSummary } from '@parley/protocol';
import { initialsOf, nameOf } from '../live/names.js';

const palette = ['bg-rose-700', 'bg-amber-700', 'bg-emerald-700', 'bg-sky-700', 'bg-violet-700', 'bg-fuchsia-700', 'bg-teal-700', 'bg-orange-700'];

function colorOf(id: string): string {
  let hash = 0;
  for (const char of id) hash = (hash * 31 + char.charCodeAt(0)) | 0;
  return palette[Math.abs(hash) % palette.length] ?? 'bg-zinc-500';
}

export function Avatar({ user, label, id, size = 'md' }: { user?: UserSummary | undefined; label?: string; id?: string; size?: 'xs' | 'sm' | 'md' | 'lg' | 'xl' }) {
  const name = label ?? nameOf(user);
  const box = { xs: 'h-4 w-4 text-[0.45rem]', sm: 'h-7 w-7 text-[0.65rem]', md: 'h-9 w-9 text-xs', lg: 'h-16 w-16 text-lg', xl: 'h-24 w-24 text-2xl' }[size];
  if (user?.avatarUrl) return <img src={user.avatarUrl} alt="" className={`${box} shrink-0 rounded-full object-cover`} />;
  const bot = user?.kind === 'bot';
  return (
    <span aria-hidden="true" className={`${box} ${bot ? 'bg-indigo-600' : colorOf(id ?? user?.id ?? name)} inline-flex shrink-0 items-center justify-center rounded-full font-semibold text-white`}>
      {bot ? '✦' : initialsOf(name)}
    </span>
  );
}
