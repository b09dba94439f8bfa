#!/usr/bin/env bash
# Set up and start napari with the SLEAP Training widget and a project.
#   bash scripts/demo.sh                 built-in procedural sample project
#   bash scripts/demo.sh PROJECT.slp     your own SLEAP project
# On a machine without a display it runs under Xvfb and saves a screenshot.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ] && command -v xvfb-run >/dev/null; then
  echo "[demo] no display found: running under Xvfb, screenshot -> demo.png"
  exec xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/napari-sleap-train demo "$@" --screenshot demo.png
fi
exec .venv/bin/napari-sleap-train demo "$@"
