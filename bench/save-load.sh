#!/bin/sh
# Save and load speed: `skiff save` vs `podman save` of the ~200 MB, 4-layer
# Debian image (bench/pull.sh's) to a docker-archive, and `skiff load` vs
# `podman load` of the same archive (the one skiff wrote) into a new, empty
# store every run, side by side in one hyperfine run each.
#
#   npm run build && sh bench/save-load.sh          (root: overlay stores)
#
# Also checks that podman loads skiff's archive to the same image ID skiff
# pulled (podman accepts what skiff writes, and the IDs survive).
# Knobs: RUNS (5), WARMUP (1), SKIFF, BENCH_OUT, SKIFF_BENCH_CACHE,
# SKIFF_BENCH_WORK (/var/tmp). Needs: hyperfine, python3, docker-registry,
# skopeo, root; podman only as the reference.
RUNS=${RUNS:-5}
WARMUP=${WARMUP:-1}
. "$(dirname "$0")/lib.sh"
need docker-registry
need skopeo
[ "$(id -u)" = 0 ] || { echo "bench: run as root (overlay stores)" >&2; exit 1; }

WORK=$(mktemp -d "${SKIFF_BENCH_WORK:-/var/tmp}/skiff-bench-save.XXXXXX")
REG_PID=
cleanup() {
  [ -n "$REG_PID" ] && kill "$REG_PID" 2>/dev/null && wait "$REG_PID" 2>/dev/null
  [ -f "$WORK/next.sh" ] && sh "$WORK/next.sh" final
  for m in $(awk -v w="$WORK/" 'index($5, w) == 1 { print $5 }' /proc/self/mountinfo | sort -r); do umount -l "$m" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

bench_debian_image || exit 1

bench_private_config

# The source stores: the image pulled once by each tool.
bench_source_stores
mkdir -p "$WORK/out"

SAVE_S="$SKIFF --root $SS/root --runroot $SS/run save -o $WORK/out/skiff.tar $IMAGE"
SAVE_P="podman --root $PS/root --runroot $PS/run --tmpdir $PS/tmp --storage-driver overlay save -o $WORK/out/podman.tar $IMAGE"
set -- -n skiff "$SAVE_S"
have_podman && set -- "$@" -n podman "$SAVE_P"
echo "== save $IMAGE to a docker-archive (runs $RUNS, warmup $WARMUP)"
echo "   skiff:  $SAVE_S"
have_podman && echo "   podman: $SAVE_P"
hyperfine -N --style basic --warmup "$WARMUP" --runs "$RUNS" --prepare "rm -f $WORK/out/skiff.tar $WORK/out/podman.tar" \
  --export-json "$BENCH_OUT/save.json" "$@" >"$BENCH_OUT/save.txt" 2>&1 || { cat "$BENCH_OUT/save.txt" >&2; exit 1; }
$SKIFF --root "$SS/root" --runroot "$SS/run" save -o "$WORK/archive.tar" "$IMAGE"

# Loads: every run into fresh stores under $WORK/runs, reached through $WORK/cur.
S=$WORK/cur/skiff
P=$WORK/cur/podman
LOAD_S="$SKIFF --root $S/root --runroot $S/run --storage-driver overlay load -q -i $WORK/archive.tar"
LOAD_P="podman --root $P/root --runroot $P/run --tmpdir $P/tmp --storage-driver overlay load -q -i $WORK/archive.tar"
mkdir -p "$WORK/runs"
cat >"$WORK/next.sh" <<EOF2
for m in \$(awk -v w="$WORK/" 'index(\$5, w) == 1 { print \$5 }' /proc/self/mountinfo | sort -r); do umount -l "\$m" 2>/dev/null || true; done
[ "\${1:-}" = final ] && exit 0
d=\$(mktemp -d "$WORK/runs/run.XXXXXX")
mkdir -p "\$d/skiff" "\$d/podman/tmp"
ln -sfn "\$d" "$WORK/cur"
sync
EOF2
sh "$WORK/next.sh"
set -- -n skiff "$LOAD_S"
have_podman && set -- "$@" -n podman "$LOAD_P"
echo "== load the docker-archive skiff wrote (runs $RUNS, warmup $WARMUP, each into a new store)"
echo "   skiff:  $LOAD_S"
have_podman && echo "   podman: $LOAD_P"
hyperfine -N --style basic --warmup "$WARMUP" --runs "$RUNS" --prepare "sh $WORK/next.sh" \
  --export-json "$BENCH_OUT/load.json" "$@" >"$BENCH_OUT/load.txt" 2>&1 || { cat "$BENCH_OUT/load.txt" >&2; exit 1; }

# Same image ID everywhere: skiff's pull, skiff's load, podman's load of skiff's archive.
sh "$WORK/next.sh"
$SKIFF --root "$S/root" --runroot "$S/run" load -q -i "$WORK/archive.tar" >/dev/null
SID=$($SKIFF --root "$S/root" --runroot "$S/run" images -q --no-trunc | sed 's/^sha256://')
echo "image ID: pulled $ID, loaded by skiff $SID"
[ "$SID" = "$ID" ] || echo "bench: WARNING: skiff load changed the image ID" >&2
if have_podman; then
  podman --root "$P/root" --runroot "$P/run" --tmpdir "$P/tmp" --storage-driver overlay load -q -i "$WORK/archive.tar" >/dev/null
  PID_=$(podman --root "$P/root" --runroot "$P/run" --tmpdir "$P/tmp" --storage-driver overlay images -q --no-trunc | sed 's/^sha256://')
  echo "image ID loaded by podman from skiff's archive: $PID_"
  [ "$PID_" = "$ID" ] || echo "bench: WARNING: podman loaded a different image ID" >&2
fi
sh "$WORK/next.sh" final

ARCHIVE_MB=$(du -m "$WORK/archive.tar" | cut -f1)
for step in save load; do
  python3 - "$BENCH_OUT/$step.json" "$step" "$ARCHIVE_MB" <<'PY'
import json, sys
path, step, mb = sys.argv[1], sys.argv[2], float(sys.argv[3])
results = {r["command"]: r for r in json.load(open(path))["results"]}
for name, r in results.items():
    print(f"median {step} {name:<8} = {r['median']:6.2f} s   (mean {r['mean']:.2f} ± {r['stddev']:.2f} s, min {r['min']:.2f}; user {r['user']:.2f} + sys {r['system']:.2f} s; {mb / r['median']:.0f} MB/s of archive)")
if "skiff" in results and "podman" in results:
    s, p = results["skiff"], results["podman"]
    print(f"ratio {step} skiff/podman = {s['median'] / p['median']:.2f}   ({step} median: skiff {s['median']:.2f} s, podman {p['median']:.2f} s)")
    print(f"min ratio {step} skiff/podman = {s['min'] / p['min']:.2f}")
    print(f"cpu ratio {step} skiff/podman = {(s['user'] + s['system']) / (p['user'] + p['system']):.2f}")
PY
done
echo "archive: $ARCHIVE_MB MB; hyperfine exports: $BENCH_OUT"
