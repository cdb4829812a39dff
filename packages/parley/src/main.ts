// First: on a Node too old, say so before a dependency fails in its own way.
import './require-node.js';
import module from 'node:module';
import { holdPort } from './held-port.js';
import { listenAddressFromEnv } from './listen-address.js';

// V8 keeps the compiled code of the server and its dependencies on disk (in the system's temporary
// folder, or NODE_COMPILE_CACHE; NODE_DISABLE_COMPILE_CACHE=1 turns it off), keyed by each file's
// content: a restart loads its modules in about two thirds of the time, and after a crash every
// client waits on that restart. Enabled before the commands are imported, so it covers them all.
module.enableCompileCache();

const command = process.argv[2] ?? 'serve';
try {
  // The node listens before it loads anything: its clients, coming back after a crash, wait in
  // line while it starts rather than being refused and backing off for longer each time.
  // Not for `localhost`: the server then listens on each of its addresses, one socket apiece.
  const address = command === 'serve' ? listenAddressFromEnv() : undefined;
  const held = address && address.host !== 'localhost' ? await holdPort(address) : undefined;
  const { run } = await import('./commands.js');
  await run(command, held);
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
}
