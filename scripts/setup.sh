#!/usr/bin/env bash
# Set up everything napari-sleap-train needs: on Debian/Ubuntu the system libraries
# for napari's Qt/OpenGL (and Xvfb for headless machines), then a virtual environment
# in .venv with the package and its extras. macOS and Windows (Git Bash) skip the
# system packages. Safe to run again: it only installs what is missing.
#   bash scripts/setup.sh               set up
#   bash scripts/setup.sh --print-spec  print what pip would install, e.g. .[all,testing,gpu]
set -euo pipefail
cd "$(dirname "$0")/.."

# One TensorFlow per install (see the README's Hardware table): the base `tensorflow`,
# plus its CUDA libraries where an NVIDIA driver answers, plus Metal on Apple Silicon.
EXTRAS="all,testing"
case "$(uname -s)" in
  Linux) if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then EXTRAS+=",gpu"; fi ;;
  Darwin) if [ "$(uname -m)" = "arm64" ]; then EXTRAS+=",apple"; fi ;;
esac
# NAPARI_SLEAP_TRAIN_EXTRAS replaces the guess (CI: "all,testing" tests the CPU build).
EXTRAS=${NAPARI_SLEAP_TRAIN_EXTRAS:-$EXTRAS}
SPEC=".[$EXTRAS]"

case "${1:-}" in
  --print-spec) echo "$SPEC"; exit 0 ;;
  -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  "") ;;
  *) echo "[setup] unknown option: $1 (try --help)" >&2; exit 2 ;;
esac

APT_PACKAGES=(xvfb xauth libgl1-mesa-dri libegl1 libxkbcommon-x11-0 libxcb-icccm4
  libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-xinerama0
  libxcb-xfixes0 libxcb-shape0 libxcb-cursor0 libdbus-1-3 libfontconfig1 ffmpeg)

if command -v apt-get >/dev/null 2>&1 && command -v dpkg >/dev/null 2>&1; then
  missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    echo "[setup] installing system packages: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
fi

PY=${PYTHON:-python3}
command -v "$PY" >/dev/null 2>&1 || PY=python  # Windows has no python3
VENV_PY=.venv/bin/python
[ -d .venv/Scripts ] && VENV_PY=.venv/Scripts/python  # Windows layout
if [ ! -x "$VENV_PY" ] && [ ! -x "$VENV_PY.exe" ]; then
  echo "[setup] creating .venv with $($PY --version)"
  $PY -m venv .venv
  [ -d .venv/Scripts ] && VENV_PY=.venv/Scripts/python
fi
hash=$("$VENV_PY" -c "import hashlib,sys; print(hashlib.sha1(open('pyproject.toml','rb').read()+sys.argv[1].encode()).hexdigest()[:12])" "$SPEC")
stamp=.venv/.installed-$hash
if [ ! -f "$stamp" ]; then
  echo "[setup] installing napari-sleap-train$SPEC (takes a few minutes the first time)"
  "$VENV_PY" -m pip install -q --upgrade pip
  # Environments made before the one-TensorFlow layout may hold a second distribution
  # of the same `tensorflow` package; remove it before pip installs `tensorflow`.
  for other in tensorflow-cpu tensorflow-macos; do
    if "$VENV_PY" -m pip show -q "$other" >/dev/null 2>&1; then
      echo "[setup] removing $other (it writes the same files as tensorflow)"
      "$VENV_PY" -m pip uninstall -y -q "$other" tensorflow
    fi
  done
  "$VENV_PY" -m pip install -q -e "$SPEC"
  rm -f .venv/.installed-*; touch "$stamp"
fi
