#!/usr/bin/env bash
# Prints the folder holding the `node` of the newest release of a major version (scripts/ci-node.sh 24),
# installed from the npm registry's `node` package into a cache outside the repository the first
# time (PARLEY_NODE_CACHE, default ~/.cache/parley-node), reused afterwards.
set -euo pipefail
major="${1:?usage: scripts/ci-node.sh <major version>}"
dir="${PARLEY_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/parley-node}/node$major"
bin="$dir/node_modules/.bin"
if [ -x "$bin/node" ] && [ "$("$bin/node" -p 'process.versions.node.split(".")[0]' 2>/dev/null)" = "$major" ]; then
  echo "$bin"
  exit 0
fi
rm -rf "$dir"
mkdir -p "$dir"
# The package puts the platform's binary in place from a preinstall script, which npm 11 runs
# only when approved: this folder is a project of its own, and approves exactly that one.
printf '{\n  "private": true,\n  "allowScripts": { "node": true }\n}\n' >"$dir/package.json"
npm install --prefix "$dir" --no-audit --no-fund "node@$major" >&2
"$bin/node" --version >&2
echo "$bin"
