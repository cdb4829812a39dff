import type { EventStream, ParleyClient } from '@parley/sdk';
import type { LoadModelsResult } from '../providers/models.js';

/** What every part of a conversation's worker is handed by the runtime. */
export interface WorkerEnvironment {
  readonly client: ParleyClient;
  readonly stream: EventStream;
  readonly assistantUserId: string;
  readonly models: LoadModelsResult;
  readonly now: () => number;
  readonly budget: number;
  readonly log: (level: 'info' | 'warn' | 'error', message: string, detail?: unknown) => void;
}
