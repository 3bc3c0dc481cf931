#!/usr/bin/env bash
# Installs the Debian packages pancake needs (and, with --test, what its tests need), only when missing.
#
#   bash scripts/deps.sh          # to run: ffmpeg (ffprobe, detection frames, JPEG live view), the camera tools on a Pi
#   bash scripts/deps.sh --test   # to test: also chromium, firefox-esr, WebKitGTK's WebDriver and Xvfb, OpenSSH server+client, an FTP server, an RTSP camera (GStreamer), systemd's tools, fonts
#   bash scripts/deps.sh --arm    # for npm run test:arm: qemu-user-static and Debian's arm64 and armhf cross C/C++ runtimes
#
# Idempotent: installed packages are left alone and apt-get is not run at all when nothing is missing.
# Uses sudo when not root. Only Debian's archive (apt) is used; nothing is downloaded from elsewhere.
set -euo pipefail

want_test=0
want_arm=0
for arg in "$@"; do
  case "$arg" in
    --test) want_test=1 ;;
    --arm) want_arm=1 ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "deps: unknown option: $arg (use --test, --arm or nothing)" >&2; exit 2 ;;
  esac
done

packages=(ffmpeg)
if [ "$want_test" = 1 ]; then
  # WebKit (Safari's engine): WebKitGTK's MiniBrowser and WebDriver under Xvfb; gstreamer1.0-libav decodes its H.264.
  packages+=(webkit2gtk-driver xvfb gstreamer1.0-libav)
  packages+=(chromium firefox-esr openssh-server openssh-client python3-pyftpdlib python3-openssl systemd fonts-dejavu-core procps openssl)
  # The test RTSP camera (test/helpers/rtsp_server.py): GStreamer's rtsp-server from /usr/bin/python3;
  # base: videotestsrc, audiotestsrc (and the GstVideo/GstRtsp bindings); good: RTP payloaders, jpegenc;
  # bad: x265enc, voaacenc; ugly: x264enc.
  packages+=(python3-gi gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0 gir1.2-gst-rtsp-server-1.0
    gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly)
fi
if [ "$want_arm" = 1 ]; then
  # Node's ARM builds run under qemu-user, called directly (no binfmt registration needed); their
  # glibc, libstdc++, libgcc_s (and for armv7l libatomic) come from Debian's cross sysroots (/usr/aarch64-linux-gnu, /usr/arm-linux-gnueabihf).
  packages+=(qemu-user-static libc6-arm64-cross libstdc++6-arm64-cross libc6-armhf-cross libstdc++6-armhf-cross libatomic1-armhf-cross)
fi

have_candidate() { apt-cache policy "$1" 2>/dev/null | grep -q 'Candidate: [^(]'; }

if ! command -v apt-get >/dev/null 2>&1; then
  echo "deps: this is not a Debian-based system; install these yourself: ${packages[*]}" >&2
  exit 1
fi

# On a Raspberry Pi the camera tools come from Raspberry Pi OS's archive; elsewhere they do not exist.
if ! command -v rpicam-vid >/dev/null 2>&1 && ! command -v libcamera-vid >/dev/null 2>&1 && have_candidate rpicam-apps; then
  packages+=(rpicam-apps)
fi
# MP4Box converts as in the original; Debian Bookworm has no gpac package, so it is optional.
if have_candidate gpac; then packages+=(gpac); fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all present: ${packages[*]}"
  exit 0
fi

sudo=()
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "deps: need root to install: ${missing[*]} (run as root or install sudo)" >&2; exit 1; }
  sudo=(sudo)
fi
echo "deps: installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "deps: installed: ${missing[*]}"
