#!/usr/bin/env bash
# The main job in one command (npm start): install what is missing, build, and run pancake + postproc.
# pancake uses the Pi camera when rpicam-vid/libcamera-vid is installed, otherwise the built-in test card.
# Live view: http://localhost:8000   Recordings: ./recordings/h264 (raw) and ./recordings/mp4 (converted).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npx tsc -p tsconfig.build.json

camera=test
if command -v rpicam-vid >/dev/null 2>&1 || command -v libcamera-vid >/dev/null 2>&1; then camera=auto; fi
socket="pancake-quickstart-$$"
mkdir -p recordings/h264 recordings/mp4

node dist/postproc/main.js "$socket" --convert recordings/mp4 &
postproc=$!
trap 'kill "$postproc" 2>/dev/null; wait "$postproc" 2>/dev/null' EXIT
echo "quickstart: camera=$camera, live view on http://localhost:8000, recordings in $(pwd)/recordings (Ctrl-C stops)"
node dist/pancake/main.js --camera "$camera" --port 8000 --record-continuous recordings/h264 --emit "$socket"
