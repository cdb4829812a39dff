import fs from 'node:fs';
import path from 'node:path';

export type FileArea = 'attachments' | 'avatars';

/** Files on local disk under the data folder. Writes land in a temp file first, then rename. */
export class FileStore {
  readonly #root: string;

  constructor(root: string) {
    this.#root = root;
    for (const area of ['attachments', 'avatars', 'tmp']) fs.mkdirSync(path.join(root, area), { recursive: true });
  }

  #path(area: FileArea, id: string): string {
    if (!/^[A-Za-z0-9_-]+$/.test(id)) throw new Error(`bad file id ${id}`);
    return path.join(this.#root, area, id);
  }

  async put(area: FileArea, id: string, data: Uint8Array): Promise<void> {
    const temporary = path.join(this.#root, 'tmp', `${id}-${process.pid}-${Date.now()}`);
    const handle = await fs.promises.open(temporary, 'w');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.promises.rename(temporary, this.#path(area, id));
  }

  async read(area: FileArea, id: string): Promise<Buffer | null> {
    try {
      return await fs.promises.readFile(this.#path(area, id));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  async remove(area: FileArea, id: string): Promise<void> {
    await fs.promises.rm(this.#path(area, id), { force: true });
  }
}
