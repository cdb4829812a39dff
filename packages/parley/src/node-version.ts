/**
 * The oldest Node Parley runs on; the root package.json's `engines.node` says the same (a test
 * checks). On an older Node the native and HTTP dependencies fail in ways that do not name the
 * cause (better-sqlite3 13 crashes with a segmentation fault on Node 20, undici 8 throws on a
 * missing zlib function), so the command checks first and says what to install.
 */
export const MINIMUM_NODE = { major: 22, minor: 19 } as const;

/** Why this Node cannot run Parley, or undefined when it can. */
export function nodeVersionProblem(version: string = process.versions.node): string | undefined {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  if (major > MINIMUM_NODE.major || (major === MINIMUM_NODE.major && minor >= MINIMUM_NODE.minor)) return undefined;
  return `Parley needs Node.js ${MINIMUM_NODE.major}.${MINIMUM_NODE.minor} or later (22, 24 and 26 are tested); this is Node.js ${version}.`;
}
