import { nodeVersionProblem } from './node-version.js';

// Imported first by main.ts, so it runs before any dependency is loaded.
const problem = nodeVersionProblem();
if (problem !== undefined) {
  console.error(problem);
  process.exit(1);
}
