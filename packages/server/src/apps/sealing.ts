import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ServerConfig } from '../config.js';

const KEY_FILE = 'secret-key';
const MIN_KEY_CHARACTERS = 32;
const VERSION = 'v1';

/**
 * The key material: `PARLEY_SECRET_KEY`, or the one kept in `<dataDir>/secret-key`, written there
 * once (mode 0600) when there is none. Several nodes sharing one database must set the same one.
 */
export function secretKeyMaterial(config: Pick<ServerConfig, 'secretKey' | 'dataDir'>): string {
  if (config.secretKey !== undefined) {
    if (config.secretKey.length < MIN_KEY_CHARACTERS) throw new Error(`the secret key (PARLEY_SECRET_KEY) must be at least ${MIN_KEY_CHARACTERS} characters`);
    return config.secretKey;
  }
  const file = path.join(config.dataDir, KEY_FILE);
  fs.mkdirSync(config.dataDir, { recursive: true });
  try {
    // `wx`: two processes starting on one data directory cannot both write a key.
    fs.writeFileSync(file, `${crypto.randomBytes(32).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const material = fs.readFileSync(file, 'utf8').trim();
  if (material.length < MIN_KEY_CHARACTERS) throw new Error(`${file} does not hold a valid key; set PARLEY_SECRET_KEY or delete the file (tokens sealed with it are then lost)`);
  return material;
}

/**
 * Seals secrets (OAuth tokens, client registrations, PKCE verifiers) with AES-256-GCM under a key
 * derived from the installation's secret. Each sealed value is bound to what it belongs to (the
 * `context`, such as app, member, issuer and resource, as additional authenticated data): a value
 * copied to another row does not open.
 */
export class SecretBox {
  readonly #key: Buffer;

  constructor(material: string) {
    this.#key = Buffer.from(crypto.hkdfSync('sha256', material, Buffer.alloc(0), 'parley/app-secrets/v1', 32));
  }

  seal(plaintext: string, context: readonly string[]): string {
    const iv = crypto.randomBytes(12);
    const cipher = crypto.createCipheriv('aes-256-gcm', this.#key, iv);
    cipher.setAAD(Buffer.from(JSON.stringify(context)));
    const sealed = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, iv.toString('base64url'), sealed.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
  }

  /** The plaintext, or undefined when the value was sealed with another key or for another context. */
  open(sealed: string, context: readonly string[]): string | undefined {
    const [version, iv, data, tag] = sealed.split('.');
    if (version !== VERSION || iv === undefined || data === undefined || tag === undefined) return undefined;
    try {
      const decipher = crypto.createDecipheriv('aes-256-gcm', this.#key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(JSON.stringify(context)));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      return undefined;
    }
  }
}
