import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';

export function registerAttachmentRoutes(_app: FastifyInstance, _context: ServerContext): void {}
