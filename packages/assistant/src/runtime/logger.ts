/**
 * What the assistant logs through: the composition root hands in its pino logger (which fits
 * this shape); tests hand in a silent or recording one.
 */
export interface Logger {
  debug(details: object, message: string): void;
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

export type LogLevel = 'info' | 'warn' | 'error';

/** The workers' `log(level, message, detail)`, written to the logger: an error under `err`, so it is serialised with its stack. */
export function logTo(logger: Logger): (level: LogLevel, message: string, detail?: unknown) => void {
  return (level, message, detail) => logger[level](detail === undefined ? {} : detail instanceof Error ? { err: detail } : { detail }, message);
}
