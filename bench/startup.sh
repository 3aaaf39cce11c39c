#!/bin/sh
# Start-up cost: `node -e 0` (the floor), `skiff version` through $SKIFF
# (dist/skiff-launch when built, as install.sh puts on PATH: the light
# entry from its V8 code cache), the same through the shell launcher bin/skiff
# (skiff-sh), through the full entry and its snapshot
# (SKIFF_NO_LITE=1), with cache and snapshot disabled (plain bundle), the single
# binary, and `podman version`, side by side in one hyperfine run.
# The issue's target: skiff version (and later skiff ps) <= 1.3 x node -e 0.
#   npm run build && node scripts/build-sea.mjs   # optional: the single binary
#   sh bench/startup.sh
. "$(dirname "$0")/lib.sh"

set -- "node=node -e 0" "skiff=$SKIFF version"
[ "$SKIFF" != "$REPO/bin/skiff" ] && set -- "$@" "skiff-sh=$REPO/bin/skiff version"
set -- "$@" "skiff-full=env SKIFF_NO_LITE=1 $SKIFF version" "skiff-bundle=env SKIFF_NO_SNAPSHOT=1 $SKIFF version"
[ -n "$SKIFF_SEA" ] && set -- "$@" "skiff-sea=$SKIFF_SEA version"
have_podman && set -- "$@" "podman=podman version"
bench_compare startup "$@"
bench_ratio startup skiff node
[ "$SKIFF" != "$REPO/bin/skiff" ] && bench_ratio startup skiff-sh node
bench_ratio startup skiff-full node
bench_ratio startup skiff-bundle node
[ -n "$SKIFF_SEA" ] && bench_ratio startup skiff-sea node
if have_podman; then
  bench_ratio startup skiff podman
  [ -n "$SKIFF_SEA" ] && bench_ratio startup skiff-sea podman
fi

# `skiff ps` on an empty temporary store: the command scripts poll most.
PS_ROOT=$(mktemp -d "${TMPDIR:-/tmp}/skiff-bench-ps.XXXXXX")
trap 'rm -rf "$PS_ROOT"' EXIT
PS_CMD="ps"
set -- "node=node -e 0" "skiff-ps=$SKIFF --root $PS_ROOT/root --runroot $PS_ROOT/run $PS_CMD"
[ "$SKIFF" != "$REPO/bin/skiff" ] && set -- "$@" "skiff-sh-ps=$REPO/bin/skiff --root $PS_ROOT/root --runroot $PS_ROOT/run $PS_CMD"
have_podman && set -- "$@" "podman-ps=podman --root $PS_ROOT/proot --runroot $PS_ROOT/prun ps"
bench_compare ps-like "$@"
bench_ratio ps-like skiff-ps node
[ "$SKIFF" != "$REPO/bin/skiff" ] && bench_ratio ps-like skiff-sh-ps node
have_podman && bench_ratio ps-like skiff-ps podman-ps
echo "hyperfine exports: $BENCH_OUT"
