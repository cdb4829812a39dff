import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';

export function registerBlockingRoutes(_app: FastifyInstance, _context: ServerContext): void {}
