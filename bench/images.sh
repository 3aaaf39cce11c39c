#!/bin/sh
# Listing speed: `skiff images` vs `podman images` (table and --format json)
# on a store holding 200 distinct small images (own IDs, own creation times
# and labels, one shared base layer), side by side in one hyperfine run.
# The images are built once by bench/build-debian-image.ts (cached under
# $SKIFF_BENCH_CACHE, /var/tmp/skiff-bench), pushed to a docker-registry on
# 127.0.0.1 and pulled into a temporary store for each tool.
#
#   npm run build && sh bench/images.sh        (root: overlay stores)
#
# Knobs: RUNS (30), WARMUP (5), IMAGES (200), SKIFF, BENCH_OUT,
# SKIFF_BENCH_CACHE, SKIFF_BENCH_WORK (where the stores go; /var/tmp).
. "$(dirname "$0")/lib.sh"
need docker-registry
[ "$(id -u)" = 0 ] || { echo "bench: run as root (overlay stores)" >&2; exit 1; }
IMAGES=${IMAGES:-200}

WORK=$(mktemp -d "${SKIFF_BENCH_WORK:-/var/tmp}/skiff-bench-images.XXXXXX")
REG_PID=
unmount_all() { # podman's overlay driver may leave its overlay/ dir bind-mounted onto itself
  for m in $(awk -v w="$WORK/" 'index($5, w) == 1 { print $5 }' /proc/self/mountinfo | sort -r); do umount -l "$m" 2>/dev/null || true; done
}
cleanup() {
  [ -n "$REG_PID" ] && kill "$REG_PID" 2>/dev/null && wait "$REG_PID" 2>/dev/null
  unmount_all
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

bench_bundle build-debian-image registry || exit 1
LAYOUT=$(node "$WORK/build-debian-image.js" tiny "$IMAGES")
bench_registry --push-all "$LAYOUT" bench || exit 1
cat "$WORK/registry.err"

bench_private_config

SKIFF_G="$SKIFF --root $WORK/skiff/root --runroot $WORK/skiff/run --storage-driver overlay"
PODMAN_G="podman --root $WORK/podman/root --runroot $WORK/podman/run --tmpdir $WORK/podman/tmp --storage-driver overlay"
REFS=$(python3 -c 'import json, sys
for m in json.load(open(sys.argv[1] + "/index.json"))["manifests"]:
    print(sys.argv[2] + "/bench/" + m["annotations"]["org.opencontainers.image.ref.name"] + ":latest")' "$LAYOUT" "$HOST")

fill() { # NAME GLOBAL-ARGS: pull every image in one process
  t0=$(date +%s.%N)
  # shellcheck disable=SC2086
  $2 pull -q --tls-verify=false $REFS >"$WORK/fill.$1" 2>&1 || { cat "$WORK/fill.$1" >&2; echo "bench: $1 pull failed" >&2; exit 1; }
  n=$($2 images -q --no-trunc | sort -u | wc -l)
  echo "$1 store: $n images (pulled $IMAGES in $(python3 -c "import sys,time; print(f'{time.time() - float(sys.argv[1]):.1f}')" "$t0") s)"
  [ "$n" -ge "$IMAGES" ] || { echo "bench: $1 lists $n images, expected $IMAGES" >&2; exit 1; }
}
fill skiff "$SKIFF_G"
have_podman && fill podman "$PODMAN_G"
unmount_all

# Output sanity (outside the timing): both must succeed and list every image.
for f in "" "--format json"; do
  # shellcheck disable=SC2086
  $SKIFF_G images $f >"$WORK/out.skiff" || { echo "bench: skiff images $f failed" >&2; exit 1; }
  echo "skiff images $f: $(wc -l <"$WORK/out.skiff") lines, $(wc -c <"$WORK/out.skiff") bytes"
  if have_podman; then
    # shellcheck disable=SC2086
    $PODMAN_G images $f >"$WORK/out.podman"
    echo "podman images $f: $(wc -l <"$WORK/out.podman") lines, $(wc -c <"$WORK/out.podman") bytes"
  fi
done
unmount_all

set -- "skiff=$SKIFF_G images"
have_podman && set -- "$@" "podman=$PODMAN_G images"
bench_compare images "$@"
unmount_all
have_podman && bench_ratio images skiff podman

set -- "skiff-json=$SKIFF_G images --format json"
have_podman && set -- "$@" "podman-json=$PODMAN_G images --format json"
bench_compare images-json "$@"
have_podman && bench_ratio images-json skiff-json podman-json
unmount_all
echo "hyperfine exports: $BENCH_OUT"
