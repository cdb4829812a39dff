#!/usr/bin/env bash
# Runs scripts/smoke.mjs on another major version of Node (scripts/smoke-on-node.sh 22): copies the
# repository's files to a temporary folder, installs there with that Node (so every native module
# is the one for it), builds, starts and checks the server. Leaves nothing behind.
set -euo pipefail
major="${1:?usage: scripts/smoke-on-node.sh <major version>}"
cd "$(dirname "$0")/.."
bin="$(bash scripts/ci-node.sh "$major")"
tree="$(mktemp -d "${TMPDIR:-/tmp}/parley-node$major.XXXXXX")"
trap 'rm -rf "$tree"' EXIT
# The repository's files as they are in the work tree, ignored ones (node_modules, dist) left out;
# in CI, a fresh clone, that is the commit itself.
git ls-files -z --cached --others --exclude-standard | tar --null --ignore-failed-read -T - -cf - | tar -xf - -C "$tree"
cd "$tree"
export PATH="$bin:$PATH"
echo "smoke on Node $(node --version): npm install in $tree"
npm install --no-audit --no-fund
node scripts/smoke.mjs
