import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';

export function registerMemberRoutes(_app: FastifyInstance, _context: ServerContext): void {}
