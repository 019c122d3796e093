# Sourced by the install scripts that put a PyPI tool into a virtualenv under
# .tools/ (MiniStack, Schemathesis): one way to check Python, pin every
# dependency from a requirements file and skip the work when nothing changed.

# require_python_venv WHO TOOL: exit 1 with the apt line when Python >= 3.10 with venv is missing.
require_python_venv() {
  local who="$1" tool="$2"
  python_bin="${PYTHON:-python3}"
  if ! "$python_bin" -c 'import sys, venv; sys.exit(0 if sys.version_info >= (3, 10) else 1)' 2>/dev/null; then
    echo "$who: Python >= 3.10 with venv is missing ($tool needs it): apt-get install -y python3-venv" >&2
    exit 1
  fi
}

# install_pinned_venv VENV REQUIREMENTS PACKAGE: (re)creates VENV with exactly REQUIREMENTS unless its
# stamp (the requirements' digest and the Python version) matches; then checks that it installed VENV/bin/PACKAGE.
# The stamp is written last, so an interrupted install is redone by the next run.
install_pinned_venv() {
  local venv="$1" requirements="$2" package="$3"
  local stamp="$venv/.stamp" pinned shown want
  pinned="$(grep "^$package==" "$requirements")"
  shown="${venv#"$root/"}"
  want="$(sha256sum "$requirements" | cut -c1-16) $("$python_bin" -c 'import sys; print(sys.version.split()[0])')"
  if [[ -x "$venv/bin/$package" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    echo "$package already installed at $shown ($pinned)"
    return
  fi
  echo "installing $pinned into $shown"
  rm -rf "$venv"
  "$python_bin" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-input -r "$requirements"
  if [[ ! -x "$venv/bin/$package" ]]; then
    echo "installing $pinned did not produce $shown/bin/$package" >&2
    exit 1
  fi
  printf '%s\n' "$want" >"$stamp"
}
