import { type ErrorBody, ParleyError, isParleyError } from '@parley/protocol';

/** Normalises anything thrown while serving a request into the one error shape. */
export function toErrorBody(error: unknown): { status: number; body: ErrorBody; unexpected: boolean } {
  if (isParleyError(error)) return { status: error.status, body: error.toBody(), unexpected: false };
  const code = (error as { code?: unknown }).code;
  const statusCode = (error as { statusCode?: unknown }).statusCode;
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, body: { code: 'PAYLOAD_TOO_LARGE', message: 'the body is too large', field: 'body' }, unexpected: false };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, body: { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'unsupported content type', field: 'body' }, unexpected: false };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { status: 400, body: { code: 'INVALID_INPUT', message: 'body: not valid JSON', field: 'body' }, unexpected: false };
    case 'FST_ERR_BAD_URL':
      return { status: 400, body: { code: 'INVALID_INPUT', message: 'params: not a valid URL component', field: 'params' }, unexpected: false };
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return { status: 400, body: { code: 'INVALID_INPUT', message: 'params: a path parameter is too long', field: 'params' }, unexpected: false };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { status: 400, body: { code: 'INVALID_INPUT', message: 'invalid content length', field: 'body' }, unexpected: false };
  }
  if (error instanceof SyntaxError && statusCode === 400) {
    return { status: 400, body: { code: 'INVALID_INPUT', message: 'body: not valid JSON', field: 'body' }, unexpected: false };
  }
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    return { status: 400, body: { code: 'INVALID_INPUT', message: String((error as Error).message) }, unexpected: false };
  }
  return { status: 500, body: { code: 'INTERNAL', message: 'internal error' }, unexpected: true };
}

export { ParleyError };
