import { z } from 'zod';

/**
 * The closed vocabulary of errors, shared by HTTP, WebSocket and the SDK. Each code has one
 * HTTP status; a code is never reused for another meaning.
 */
export const ERROR_STATUS = {
  INVALID_INPUT: 400,
  UNAUTHENTICATED: 401,
  INVALID_CREDENTIALS: 401,
  FORBIDDEN: 403,
  ORIGIN_REFUSED: 403,
  PROFILE_INCOMPLETE: 403,
  GROUP_CHATS_DISABLED: 403,
  BLOCKED: 403,
  CREATOR_CANNOT_BE_REMOVED: 403,
  /** Removed from the group by a member: no invite link lets them back, only a member adding them by username. */
  REMOVED_FROM_GROUP: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  USERNAME_TAKEN: 409,
  ID_CONFLICT: 409,
  ALREADY_MEMBER: 409,
  GROUP_FULL: 409,
  BLOCKED_MEMBER_WARNING: 409,
  INVITE_EXPIRED: 410,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UNSUPPORTED_PROTOCOL_VERSION: 426,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  UNAVAILABLE: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export const ErrorCodeSchema = z.enum(Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]]);

export const ErrorBodySchema = z
  .object({
    code: ErrorCodeSchema,
    message: z.string(),
    /** Dotted path of the offending field, such as `body.text` or `query.limit`. */
    field: z.string().optional(),
    /** Seconds to wait before retrying, for RATE_LIMITED. */
    retryAfter: z.number().optional(),
    /** Extra facts a client may act on, such as the blocked members behind BLOCKED_MEMBER_WARNING. */
    details: z.record(z.string(), z.unknown()).optional(),
  })
  .meta({ id: 'Error' });
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

export const ErrorResponseSchema = z.object({ error: ErrorBodySchema }).meta({ id: 'ErrorResponse' });
export type ErrorResponse = z.infer<typeof ErrorResponseSchema>;

export class ParleyError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly field: string | undefined;
  readonly retryAfter: number | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    extra: { field?: string; retryAfter?: number; details?: Record<string, unknown> } = {},
  ) {
    super(message);
    this.name = 'ParleyError';
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.field = extra.field;
    this.retryAfter = extra.retryAfter;
    this.details = extra.details;
  }

  toBody(): ErrorBody {
    const body: ErrorBody = { code: this.code, message: this.message };
    if (this.field !== undefined) body.field = this.field;
    if (this.retryAfter !== undefined) body.retryAfter = this.retryAfter;
    if (this.details !== undefined) body.details = this.details;
    return body;
  }

  static fromBody(body: ErrorBody): ParleyError {
    const extra: { field?: string; retryAfter?: number; details?: Record<string, unknown> } = {};
    if (body.field !== undefined) extra.field = body.field;
    if (body.retryAfter !== undefined) extra.retryAfter = body.retryAfter;
    if (body.details !== undefined) extra.details = body.details;
    return new ParleyError(body.code, body.message, extra);
  }
}

export function isParleyError(value: unknown): value is ParleyError {
  return value instanceof ParleyError;
}

/** Turns the first issue of a zod error into a ParleyError naming the field. */
export function errorFromZod(error: z.ZodError, prefix: string): ParleyError {
  const issue = error.issues[0];
  const path = [prefix, ...(issue?.path ?? []).map(String)].filter((part) => part !== '').join('.');
  const message = issue ? `${path || 'input'}: ${issue.message}` : 'invalid input';
  return new ParleyError('INVALID_INPUT', message, path ? { field: path } : {});
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`Assertion failed: ${message}`);
}
