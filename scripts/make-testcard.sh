#!/usr/bin/env bash
# Makes testcard/testcard.h264, the built-in test camera: 640x480, 12 fps, 24 s, H.264
# Constrained Baseline Annex B with SPS+PPS before every IDR (one IDR every 12 frames),
# no B-frames, no SEI, and a burned-in running clock and frame number.
#
# The exact command (run from the project root; needs Debian's ffmpeg and fonts-dejavu-core):
#
#   ffmpeg -hide_banner -loglevel error -y \
#     -f lavfi -i "testsrc2=size=640x480:rate=12:duration=24" \
#     -vf "drawtext=fontfile=/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf:fontsize=28:fontcolor=white:box=1:boxcolor=black@0.6:boxborderw=6:x=w-text_w-16:y=16:text='%{pts\:hms}',drawtext=fontfile=/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf:fontsize=28:fontcolor=white:box=1:boxcolor=black@0.6:boxborderw=6:x=16:y=h-text_h-16:text='frame %{eif\:n\:d\:3}'" \
#     -c:v libx264 -profile:v baseline -level:v 3.0 -pix_fmt yuv420p -preset medium \
#     -b:v 450k -maxrate 600k -bufsize 900k \
#     -x264-params keyint=12:min-keyint=12:scenecut=0:bframes=0:repeat-headers=1 \
#     -bsf:v filter_units=remove_types=6 \
#     -f h264 testcard/testcard.h264
#
# The clip loops seamlessly: every GOP is closed and starts with SPS+PPS+IDR, so two copies
# back to back are a valid stream (test/testcard.test.ts checks this with `ffmpeg -v error`).
set -euo pipefail
cd "$(dirname "$0")/.."
font=/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf
[ -f "$font" ] || { echo "make-testcard: missing $font (apt-get install fonts-dejavu-core)" >&2; exit 1; }
command -v ffmpeg >/dev/null || { echo "make-testcard: ffmpeg not found (npm run deps)" >&2; exit 1; }
mkdir -p testcard
ffmpeg -hide_banner -loglevel error -y \
  -f lavfi -i "testsrc2=size=640x480:rate=12:duration=24" \
  -vf "drawtext=fontfile=$font:fontsize=28:fontcolor=white:box=1:boxcolor=black@0.6:boxborderw=6:x=w-text_w-16:y=16:text='%{pts\:hms}',drawtext=fontfile=$font:fontsize=28:fontcolor=white:box=1:boxcolor=black@0.6:boxborderw=6:x=16:y=h-text_h-16:text='frame %{eif\:n\:d\:3}'" \
  -c:v libx264 -profile:v baseline -level:v 3.0 -pix_fmt yuv420p -preset medium \
  -b:v 450k -maxrate 600k -bufsize 900k \
  -x264-params keyint=12:min-keyint=12:scenecut=0:bframes=0:repeat-headers=1 \
  -bsf:v filter_units=remove_types=6 \
  -f h264 testcard/testcard.h264
ls -l testcard/testcard.h264
