/**
 * `@parley/sdk/node`: what only Node needs. Not imported by the main entry, so a browser bundle
 * never pulls in an HTTP client of its own.
 */
import { Agent, type Dispatcher, request } from 'undici';
import type { FetchLike, FetchResponse } from './http/client.js';

export interface NodeFetchOptions {
  /** Connections kept open to the server. Default 16. */
  connections?: number;
}

/**
 * A `fetch` for `ParleyClient` in Node, on undici's `request`: the same HTTP over kept-alive
 * connections at about a third of the CPU of the global `fetch`, which builds WHATWG streams and
 * objects around every call. Bots that make many small calls (the assistant records a decision
 * for every message) run on it.
 */
export function nodeFetch(options: NodeFetchOptions = {}): FetchLike {
  const dispatcher = new Agent({ connections: options.connections ?? 16 });
  return async (url, init): Promise<FetchResponse> => {
    const body = init.body instanceof Blob ? new Uint8Array(await init.body.arrayBuffer()) : init.body;
    const response = await request(url, {
      method: init.method as Dispatcher.HttpMethod,
      headers: init.headers,
      ...(body !== undefined ? { body } : {}),
      dispatcher,
    });
    return {
      ok: response.statusCode >= 200 && response.statusCode < 300,
      status: response.statusCode,
      json: () => response.body.json(),
      text: () => response.body.text(),
      arrayBuffer: () => response.body.arrayBuffer(),
    };
  };
}
