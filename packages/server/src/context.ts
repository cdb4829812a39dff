import type { ServerConfig } from './config.js';
import type { Clock, EventLog } from './events/event-log.js';
import type { Bus } from './realtime/bus.js';
import type { Storage } from './storage/database.js';
import type { FileStore } from './attachments/file-store.js';
import type { LimitStore, RateLimit } from './abuse/limits.js';
import type { AssistantAccount } from './assistant/account.js';
import type { Turns } from './assistant/turns.js';
import type { AppHost } from './apps/host.js';
import type { AppCallRuns } from './apps/runs.js';
import type { AppOAuth } from './apps/oauth.js';
import type { Logger } from './logger.js';

/** Where this node serves apps' widgets: the origin browsers load them from (apps/SPEC.md [AP20]). */
export interface WidgetSiteRef {
  origin: string | null;
}

/** Everything a feature needs, handed in rather than reached for. */
export interface ServerContext {
  readonly config: ServerConfig;
  readonly storage: Storage;
  readonly log: EventLog;
  readonly bus: Bus;
  readonly clock: Clock;
  /** The process's one logger, handed in by the composition root. */
  readonly logger: Logger;
  readonly files: FileStore;
  /** The assistant's bot account, a member of every assistant and group conversation. */
  readonly assistant: AssistantAccount;
  /** The assistant's streamed answers on this node. */
  readonly turns: Turns;
  /** This node's connections to apps (MCP servers). */
  readonly apps: AppHost;
  /** The tool calls running on this node: cancellation, progress, recovery (apps/SPEC.md [AP12]–[AP15]). */
  readonly appRuns: AppCallRuns;
  /** The members' OAuth credentials for apps that need them, sealed (apps/SPEC.md [AP16]). */
  readonly appOAuth: AppOAuth;
  /** Where this node serves apps' widgets (apps/SPEC.md [AP20]); no origin when it serves none. */
  readonly widgets: WidgetSiteRef;
  /** Where limits count: in this process, or in Redis for every node (events/SPEC.md [MN5]). */
  readonly limitStore: LimitStore;
  readonly limits: {
    readonly flood: RateLimit;
    readonly loginByUsername: RateLimit;
    readonly loginByAddress: RateLimit;
  };
}
