#!/usr/bin/env bash
# The main job in one command (npm start): install what is missing, build, and run pancake + postproc.
# pancake uses the Pi camera when rpicam-vid/libcamera-vid is installed, otherwise the built-in test card.
# Live view: http://localhost:8000   Recordings: ./recordings/h264 (raw, a file a minute) and ./recordings/mp4 (converted).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npx tsc -p tsconfig.build.json

camera=test
if command -v rpicam-vid >/dev/null 2>&1 || command -v libcamera-vid >/dev/null 2>&1; then camera=auto; fi
socket="pancake-quickstart"
mkdir -p recordings/h264 recordings/mp4

# postproc in its own session: Ctrl-C stops pancake first, which hands its last file to postproc
# before the trap below stops postproc too.
# --accept-dir: postproc converts only what pancake records into recordings/h264.
setsid node dist/postproc/main.js "$socket" --convert recordings/mp4 --accept-dir recordings/h264 &
postproc=$!
trap 'sleep 1; kill "$postproc" 2>/dev/null; wait "$postproc" 2>/dev/null' EXIT
echo "quickstart: camera=$camera, live view on http://localhost:8000, recordings in $(pwd)/recordings (Ctrl-C stops)"
# One-minute files, so the first MP4 appears within a minute (the default is 15, as the original).
node dist/pancake/main.js --camera "$camera" --port 8000 --record-continuous recordings/h264 --segment-minutes 1 --emit "$socket"
