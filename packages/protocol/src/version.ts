/**
 * The wire protocol version. Bump it, with a dated line below, whenever a schema in this
 * package changes; `protocol-version.test.ts` fails until you do.
 *
 * History:
 * - 1 (2026-11-23): accounts, conversations, messages, invites, event log with resume.
 * - 2 (2026-11-23): the assistant: streamed turns, decisions, personal memory and instructions, context.
 * - 3 (2026-12-02): `member-updated` events: a member's new profile reaches every conversation they are in.
 * - 4 (2026-12-02): removal and blocking that hold: error `REMOVED_FROM_GROUP`; `event-withheld` in
 *   place of an event from an account the reader blocked; `my-blocks-updated` to the blocker's own
 *   sockets; `assistant-turn-start.triggeredBy`.
 */
export const PROTOCOL_VERSION = 4;
