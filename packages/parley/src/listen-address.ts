// Imports nothing but Node: main.ts reads the address before it loads the server.

export function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 0): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be an integer ≥ ${min}, got "${raw}"`);
  return value;
}

/** Where the API listens: `PORT` (3000) on `PARLEY_HOST` (127.0.0.1). */
export function listenAddressFromEnv(env: NodeJS.ProcessEnv = process.env): { port: number; host: string } {
  return { port: integer(env, 'PORT', 3000), host: env.PARLEY_HOST || '127.0.0.1' };
}
