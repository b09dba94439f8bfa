#!/usr/bin/env bash
# Set up and run the test suite.
#   bash scripts/test.sh          fast default set (CI)
#   bash scripts/test.sh --full   also the slow training tests
#   bash scripts/test.sh -k crop  other arguments go to both pytest runs
# GUI tests and TensorFlow tests run in separate pytest processes: TensorFlow
# must never share a process with napari's OpenGL canvas. On Linux without a
# display the tests run under Xvfb; macOS, Windows and desktops use their display.
# (Written for bash 3.2 too, macOS's: empty arrays expand as ${a[@]+"${a[@]}"}.)
set -uo pipefail
cd "$(dirname "$0")/.."

marker=(-m "not slow")
extra=()
for arg in "$@"; do
  case "$arg" in
    -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --full) marker=() ;;
    *) extra+=("$arg") ;;
  esac
done

bash scripts/setup.sh || exit 1

BIN=.venv/bin
[ -d .venv/Scripts ] && BIN=.venv/Scripts  # Windows layout

WRAP=()
if [ "$(uname -s)" = "Linux" ] && [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  if command -v xvfb-run >/dev/null 2>&1; then
    WRAP=(xvfb-run -a -s "-screen 0 1600x1000x24")
  else
    echo "[test] no display and no xvfb-run: napari's tests need one (install the xvfb package)"
  fi
fi

run() {  # run pytest; "no tests collected" (exit 5) is a broken setup, not a pass
  ${WRAP[@]+"${WRAP[@]}"} "$BIN/python" -m pytest "$@"
  local rc=$?
  if [ $rc -eq 5 ]; then echo "[test] no tests were collected: the setup is broken"; return 1; fi
  return $rc
}

echo "[test] import contracts (lint-imports: the process split and the layer direction)"
"$BIN/lint-imports" --no-cache; rc0=$?
echo "[test] lint (ruff check, ruff format --check)"
{ "$BIN/ruff" check . && "$BIN/ruff" format --check .; } || rc0=1
echo "[test] napari-process tests (GUI, I/O, data, runner)"
run tests --ignore=tests/engine ${marker[@]+"${marker[@]}"} ${extra[@]+"${extra[@]}"}; rc1=$?
echo "[test] engine tests (TensorFlow in-process)"
run tests/engine ${marker[@]+"${marker[@]}"} ${extra[@]+"${extra[@]}"}; rc2=$?
[ $rc0 -eq 0 ] && [ $rc1 -eq 0 ] && [ $rc2 -eq 0 ]
