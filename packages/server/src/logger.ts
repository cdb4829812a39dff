import { type Logger, type LevelWithSilent, levels, pino } from 'pino';

export type { Logger };

/** The levels a logger takes, from the most to the least said: what PARLEY_LOG_LEVEL accepts. */
export const LOG_LEVELS = [...Object.keys(levels.values), 'silent'] as readonly LevelWithSilent[];

export function isLogLevel(value: string): value is LevelWithSilent {
  return (LOG_LEVELS as readonly string[]).includes(value);
}

/**
 * The process's one logger, made by the composition root and handed down: JSON lines on
 * standard error, written synchronously so the line before a crash or an exit is not lost.
 */
export function createLogger(level: LevelWithSilent = 'info'): Logger {
  return pino({ level }, pino.destination({ fd: 2, sync: true }));
}

/** The logger itself when it is already this quiet or quieter; otherwise a child at this level. */
export function atLeast(logger: Logger, level: Exclude<LevelWithSilent, 'silent'>): Logger {
  return logger.levelVal >= (levels.values[level] ?? 0) ? logger : logger.child({}, { level });
}

/** A logger that writes nothing (tests, tools that print their own output). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
