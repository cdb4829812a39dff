export { configFromEnv } from './config.js';
