#!/usr/bin/env bash
# Installs Schemathesis, the property-based OpenAPI tester that the contract
# test (test/contract/schemathesis.test.ts, `npm run contract-test`) runs
# against the local server, into a virtualenv at .tools/schemathesis (git-
# ignored), with every dependency pinned in scripts/schemathesis-requirements.txt.
# Safe to re-run: skipped when the stamp (requirements digest and Python
# version) matches.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/lib/pinned-venv.sh
source "$root/scripts/lib/pinned-venv.sh"
mkdir -p "$root/.tools"

require_python_venv install-schemathesis Schemathesis
install_pinned_venv "$root/.tools/schemathesis" "$root/scripts/schemathesis-requirements.txt" schemathesis
"$root/.tools/schemathesis/bin/schemathesis" --version >/dev/null
