# Sourced by scripts/main.sh and scripts/test.sh: installs everything keras_dl needs, once.
#   - Debian's dataset-fashion-mnist (the offline Fashion-MNIST), where apt is available;
#   - a virtualenv in .venv with keras_dl installed editable, with its test extra.
# Re-running is cheap: pip runs again only when setup.cfg or pyproject.toml changed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

log() { printf '[setup] %s\n' "$*" >&2; }

install_fashion_mnist() {
  if [ -f /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ]; then return 0; fi
  if ! command -v apt-get >/dev/null 2>&1; then
    log "no apt-get here: Fashion-MNIST will come from tensorflow-datasets (needs internet) or"
    log "from \$KERAS_DL_FASHION_MNIST_DIR (the four IDX .gz files)"
    return 0
  fi
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; else
      log "not root and no password-less sudo: run 'sudo apt-get install dataset-fashion-mnist'"
      return 0
    fi
  fi
  log "installing Debian's dataset-fashion-mnist"
  $sudo apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1 || {
    $sudo apt-get update -qq >/dev/null && $sudo apt-get install -y -qq dataset-fashion-mnist >/dev/null
  }
}

pick_python() {
  for candidate in "${PYTHON:-}" python3.11 python3.12 python3.13 python3.10 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(not (3, 10) <= sys.version_info[:2] < (3, 14))'; then
      echo "$candidate"; return 0
    fi
  done
  log "keras_dl needs Python 3.10 to 3.13 (TensorFlow 2.21); none found"; return 1
}

install_python_packages() {
  local python stamp want
  python="$(pick_python)"
  [ -x .venv/bin/python ] || { log "creating .venv with $python"; "$python" -m venv .venv; }
  want="$(cat setup.cfg pyproject.toml | sha256sum | cut -d' ' -f1)"
  stamp=.venv/.keras_dl-installed
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    log "installing Python packages into .venv (first time: a few minutes)"
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e '.[test]'
    echo "$want" > "$stamp"
  fi
}

install_fashion_mnist
install_python_packages
export PATH="$ROOT/.venv/bin:$PATH"
