import { type TurnError, toStorableText } from '@parley/protocol';
import {
  APICallError,
  EmptyResponseBodyError,
  InvalidResponseDataError,
  JSONParseError,
  LoadAPIKeyError,
  NoContentGeneratedError,
  NoObjectGeneratedError,
  NoOutputGeneratedError,
  RetryError,
  TypeValidationError,
} from 'ai';

/** Why a model call failed, as the rest of the assistant (and a turn's visible error) sees it. */
export const ProviderErrorCode = {
  /** No answer, or no progress, within the configured timeout. */
  timeout: 'provider_timeout',
  /** The provider refused for now (HTTP 429, or a rate-limit error event). */
  rateLimited: 'provider_rate_limited',
  /** The provider failed on its side (HTTP 5xx, Anthropic 529 overloaded, connection refused). */
  unavailable: 'provider_unavailable',
  /** The connection dropped in the middle of a streamed answer. */
  streamCut: 'stream_cut',
  /** The provider sent something that does not parse (a chunk, or a structured answer off-schema). */
  malformedResponse: 'malformed_response',
  /** Any other refusal (HTTP 4xx: bad key, unknown model, request too large). Retrying will not help. */
  error: 'provider_error',
} as const;
export type ProviderErrorCode = (typeof ProviderErrorCode)[keyof typeof ProviderErrorCode];

export interface ProviderErrorOptions {
  retryable: boolean;
  /** The HTTP status the provider answered, when there was one. */
  status?: number;
  /** How long the provider asked us to wait (`retry-after-ms` / `retry-after`). */
  retryAfterMs?: number;
  /** What the provider itself said: for logs, not for members (it may name accounts or keys). */
  providerMessage?: string;
  cause?: unknown;
}

/** The one error a model call throws, whatever the provider and wherever it failed. */
export class ProviderError extends Error {
  override readonly name = 'ProviderError';
  readonly code: ProviderErrorCode;
  readonly retryable: boolean;
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;
  readonly providerMessage: string | undefined;

  constructor(code: ProviderErrorCode, message: string, options: ProviderErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
    this.providerMessage = options.providerMessage;
  }

  /** The visible error state of a turn that this failure ended. */
  toTurnError(): TurnError {
    // A provider's message is its text, not ours: held to what the server stores [PB1]–[PB2].
    const message = toStorableText(this.message.length > 2000 ? `${this.message.slice(0, 1999)}…` : this.message);
    return { code: this.code, message, retryable: this.retryable };
  }
}

/**
 * Turns anything a model call can throw or emit (ai SDK errors, stream error events, network
 * failures, plain objects from a provider's error event) into a ProviderError. The one place
 * where provider failures are classified.
 */
export function toProviderError(error: unknown, provider: string): ProviderError {
  if (error instanceof ProviderError) return error;
  if (RetryError.isInstance(error)) return toProviderError(error.lastError, provider);

  if (APICallError.isInstance(error)) return fromApiCallError(error, provider);

  // A provider's error line that its SDK failed to parse as an answer (Ollama and some
  // OpenAI-compatible servers send `{"error": …}` mid-stream): still the provider's error.
  if (TypeValidationError.isInstance(error) && isRecord(error.value) && 'error' in error.value && Object.keys(error.value).length <= 2) {
    return fromErrorEvent(error.value, provider);
  }

  // The OpenAI-compatible provider reports a stream that ended without a finish reason this way:
  // the answer was cut short, not unreadable (the provider contract's PC6 pins the wording).
  if (InvalidResponseDataError.isInstance(error) && /stream ended without a finish reason/i.test(error.message)) {
    return new ProviderError(ProviderErrorCode.streamCut, `The answer from the model provider (${provider}) ended before it was complete.`, {
      retryable: true,
      providerMessage: error.message,
      cause: error,
    });
  }

  if (
    JSONParseError.isInstance(error) ||
    TypeValidationError.isInstance(error) ||
    InvalidResponseDataError.isInstance(error) ||
    EmptyResponseBodyError.isInstance(error) ||
    NoObjectGeneratedError.isInstance(error) ||
    NoOutputGeneratedError.isInstance(error) ||
    NoContentGeneratedError.isInstance(error)
  ) {
    return new ProviderError(ProviderErrorCode.malformedResponse, `The model provider (${provider}) sent an answer that could not be read.`, {
      retryable: true,
      providerMessage: error.message,
      cause: error,
    });
  }

  if (LoadAPIKeyError.isInstance(error)) {
    return new ProviderError(ProviderErrorCode.error, `The model provider (${provider}) has no API key configured.`, { retryable: false, providerMessage: error.message, cause: error });
  }

  if (isNamedError(error, 'TimeoutError')) return timeoutError(provider, error);

  if (isNetworkTermination(error)) {
    return new ProviderError(ProviderErrorCode.streamCut, `The connection to the model provider (${provider}) dropped in the middle of the answer.`, {
      retryable: true,
      providerMessage: error instanceof Error ? error.message : String(error),
      cause: error,
    });
  }

  // Error events inside a stream arrive as the provider's own error object (OpenAI:
  // {message, type, code}; Anthropic: {type: 'overloaded_error', message}) or a string (Ollama).
  if (isRecord(error) || typeof error === 'string') return fromErrorEvent(error, provider);

  return new ProviderError(ProviderErrorCode.error, `The model provider (${provider}) failed.`, {
    retryable: false,
    providerMessage: error instanceof Error ? error.message : String(error),
    cause: error,
  });
}

export function timeoutError(provider: string, cause?: unknown): ProviderError {
  return new ProviderError(ProviderErrorCode.timeout, `The model provider (${provider}) did not answer in time.`, {
    retryable: true,
    ...(cause === undefined ? {} : { cause }),
  });
}

function fromApiCallError(error: APICallError, provider: string): ProviderError {
  // Our own stream guards fail a body with a ProviderError; the SDK wraps it on the way out.
  if (error.cause instanceof ProviderError) return error.cause;
  const status = error.statusCode;
  const base = { providerMessage: error.message, cause: error };
  if (status === undefined) {
    // The request never got an answer: connection refused, reset before headers, DNS.
    return new ProviderError(ProviderErrorCode.unavailable, `The model provider (${provider}) cannot be reached.`, { retryable: true, ...base });
  }
  if (status >= 200 && status < 300) {
    // The ai SDK reports a body that failed while streaming as an APICallError carrying the
    // (successful) status of the response it was reading.
    if (isNetworkTermination(error.cause) || error.cause === undefined) {
      return new ProviderError(ProviderErrorCode.streamCut, `The connection to the model provider (${provider}) dropped in the middle of the answer.`, { retryable: true, status, ...base });
    }
    return new ProviderError(ProviderErrorCode.malformedResponse, `The model provider (${provider}) sent an answer that could not be read.`, { retryable: true, status, ...base });
  }
  if (status === 429) {
    const retryAfterMs = retryAfterOf(error.responseHeaders);
    const wait = retryAfterMs === undefined ? '' : ` Try again in ${Math.max(1, Math.ceil(retryAfterMs / 1000))} s.`;
    return new ProviderError(ProviderErrorCode.rateLimited, `The model provider (${provider}) is rate limiting requests.${wait}`, {
      retryable: true,
      status,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      ...base,
    });
  }
  if (status === 408) return new ProviderError(ProviderErrorCode.timeout, `The model provider (${provider}) did not answer in time.`, { retryable: true, status, ...base });
  if (status >= 500) {
    const overloaded = status === 529 || status === 503;
    return new ProviderError(
      ProviderErrorCode.unavailable,
      overloaded ? `The model provider (${provider}) is overloaded right now.` : `The model provider (${provider}) failed on its side (HTTP ${status}).`,
      { retryable: true, status, ...base },
    );
  }
  return new ProviderError(ProviderErrorCode.error, `The model provider (${provider}) refused the request (HTTP ${status}).`, { retryable: false, status, ...base });
}

function fromErrorEvent(error: Record<string, unknown> | string, provider: string): ProviderError {
  const fields: Record<string, unknown> =
    typeof error === 'string' ? { message: error } : isRecord(error.error) ? error.error : typeof error.error === 'string' ? { message: error.error } : error;
  const type = typeof fields.type === 'string' ? fields.type : '';
  const code = typeof fields.code === 'string' ? fields.code : '';
  const providerMessage = typeof fields.message === 'string' ? fields.message : JSON.stringify(error);
  const base = { providerMessage, cause: error };
  if (type === 'rate_limit_error' || code === 'rate_limit_exceeded' || type === 'requests' || type === 'tokens') {
    return new ProviderError(ProviderErrorCode.rateLimited, `The model provider (${provider}) is rate limiting requests.`, { retryable: true, ...base });
  }
  if (type === 'overloaded_error') return new ProviderError(ProviderErrorCode.unavailable, `The model provider (${provider}) is overloaded right now.`, { retryable: true, ...base });
  if (type === 'timeout_error') return new ProviderError(ProviderErrorCode.timeout, `The model provider (${provider}) did not answer in time.`, { retryable: true, ...base });
  if (['invalid_request_error', 'authentication_error', 'permission_error', 'not_found_error', 'request_too_large'].includes(type)) {
    return new ProviderError(ProviderErrorCode.error, `The model provider (${provider}) refused the request.`, { retryable: false, ...base });
  }
  // Anything else failed after the provider accepted the request: its side broke mid-answer.
  return new ProviderError(ProviderErrorCode.unavailable, `The model provider (${provider}) failed in the middle of the answer.`, { retryable: true, ...base });
}

/** `retry-after-ms` (OpenAI) or `retry-after` in seconds or as an HTTP date. */
export function retryAfterOf(headers: Record<string, string> | undefined): number | undefined {
  if (!headers) return undefined;
  const milliseconds = Number.parseFloat(headers['retry-after-ms'] ?? '');
  if (Number.isFinite(milliseconds) && milliseconds >= 0) return milliseconds;
  const retryAfter = headers['retry-after'];
  if (retryAfter === undefined) return undefined;
  const seconds = Number.parseFloat(retryAfter);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(retryAfter);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : undefined;
}

const NETWORK_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'ConnectionClosed', 'UND_ERR_BODY_TIMEOUT']);

/** undici reports a body cut short as TypeError('terminated') with a socket error as its cause. */
function isNetworkTermination(error: unknown): boolean {
  const seen = new Set<unknown>();
  let current = error;
  while (current instanceof Error && !seen.has(current)) {
    seen.add(current);
    if (current instanceof TypeError && current.message === 'terminated') return true;
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
    current = current.cause;
  }
  return false;
}

function isNamedError(error: unknown, name: string): boolean {
  return (error instanceof Error || error instanceof DOMException) && error.name === name;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
