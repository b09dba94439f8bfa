#!/usr/bin/env bash
# Set up and run the test suite.
#   bash scripts/test.sh          fast default set (CI)
#   bash scripts/test.sh --full   also the slow training tests
# GUI tests and TensorFlow tests run in separate pytest processes: TensorFlow
# must never share a process with napari's OpenGL canvas.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1

marker=(-m "not slow")
extra=()
for arg in "$@"; do
  case "$arg" in
    --full) marker=() ;;
    *) extra+=("$arg") ;;
  esac
done

run() {  # run pytest; "no tests collected" (exit 5) is a broken setup, not a pass
  xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python -m pytest "$@"
  local rc=$?
  if [ $rc -eq 5 ]; then echo "[test] no tests were collected: the setup is broken"; return 1; fi
  return $rc
}

echo "[test] import contracts (lint-imports: the process split and the layer direction)"
.venv/bin/lint-imports --no-cache; rc0=$?
echo "[test] napari-process tests (GUI, I/O, data, runner)"
run tests --ignore=tests/engine "${marker[@]}" "${extra[@]}"; rc1=$?
echo "[test] engine tests (TensorFlow in-process)"
run tests/engine "${marker[@]}" "${extra[@]}"; rc2=$?
[ $rc0 -eq 0 ] && [ $rc1 -eq 0 ] && [ $rc2 -eq 0 ]
