/**
 * The wire of the two baselines of the fan-out benchmarks (B1–B3): the bare `ws` ceiling and the
 * Socket.IO peer speak the same three messages, so one generator drives them and Parley alike.
 *
 *   client → server  { t: 'join', rooms: string[] }               once, after connecting
 *   client → server  { t: 'send', room: string, id: string, text: string }
 *   server → clients { t: 'msg', room: string, id: string, text: string }   to the room's other members
 *
 * The server acknowledges a send to its sender with { t: 'ack', id } (Parley answers the HTTP
 * request), so the generator can tell how long the send itself took.
 */
export type ClientMessage = { t: 'join'; rooms: string[] } | { t: 'send'; room: string; id: string; text: string };
export type ServerMessage = { t: 'msg'; room: string; id: string; text: string } | { t: 'ack'; id: string } | { t: 'joined' };
