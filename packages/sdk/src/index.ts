export { ParleyClient } from './http/client.js';
export type { Api, ClientOptions, FetchInit, FetchLike, FetchResponse } from './http/client.js';
export { EventStream } from './realtime/event-stream.js';
export type { EventStreamHandlers, EventStreamOptions, SocketFactory, SocketLike, TurnEnded } from './realtime/event-stream.js';
export { applyEvent, unreadCount } from './state/conversation-state.js';
export type { ConversationState } from './state/conversation-state.js';
export { fetchConversationState } from './state/fetch-state.js';
export { firstUnread, seenBy } from './state/read-markers.js';
