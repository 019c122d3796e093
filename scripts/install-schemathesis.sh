#!/usr/bin/env bash
# Installs Schemathesis, the property-based OpenAPI tester that the contract
# test (test/contract/schemathesis.test.ts, `npm run contract-test`) runs
# against the local server, into a virtualenv at .tools/schemathesis (git-
# ignored), with every dependency pinned in scripts/schemathesis-requirements.txt.
# Safe to re-run: skipped when the stamp (requirements digest and Python
# version) matches.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/.tools"
requirements="$root/scripts/schemathesis-requirements.txt"
venv="$tools/schemathesis"
stamp="$venv/.stamp"
mkdir -p "$tools"

python_bin="${PYTHON:-python3}"
if ! "$python_bin" -c 'import sys, venv; sys.exit(0 if sys.version_info >= (3, 10) else 1)' 2>/dev/null; then
  echo "install-schemathesis: Python >= 3.10 with venv is missing (Schemathesis needs it): apt-get install -y python3-venv" >&2
  exit 1
fi

want="$(sha256sum "$requirements" | cut -c1-16) $("$python_bin" -c 'import sys; print(sys.version.split()[0])')"
if [[ -x "$venv/bin/schemathesis" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "Schemathesis already installed at .tools/schemathesis ($(grep '^schemathesis==' "$requirements"))"
else
  echo "installing $(grep '^schemathesis==' "$requirements") into .tools/schemathesis"
  rm -rf "$venv"
  "$python_bin" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-input -r "$requirements"
  "$venv/bin/schemathesis" --version >/dev/null
  printf '%s\n' "$want" >"$stamp"
fi
