#!/usr/bin/env bash
# Sets up everything the project needs on a fresh machine: system GL/EGL libraries
# (apt-get, when root and they are missing), a virtual environment and the packages.
# Idempotent: safe to run again; `make` calls it when setup.cfg changes.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}

need_system_libs() {
  ! ldconfig -p 2>/dev/null | grep -q 'libEGL.so.1 ' ||
  ! ldconfig -p 2>/dev/null | grep -q 'libGL.so.1 ' ||
  ! ls /usr/lib/*/dri/swrast_dri.so >/dev/null 2>&1
}

if need_system_libs; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "bootstrap: installing Mesa EGL/GL (llvmpipe) with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends libegl1 libgl1 libegl-mesa0 libgl1-mesa-dri >/dev/null
  else
    echo "bootstrap: Mesa EGL/GL libraries missing; install libegl1 libgl1 libegl-mesa0 libgl1-mesa-dri" >&2
  fi
fi

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null 2>&1 || true
"$VENV/bin/python" -m pip install -q -e '.[dev]'
# numba kernels compile once here, not in the first tick of a user's first run
"$VENV/bin/python" tools/warm_kernels.py ||
  echo "bootstrap: kernel warm-up failed; the kernels compile on first use instead" >&2
