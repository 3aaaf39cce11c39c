#!/bin/sh
# Push speed: `skiff push` vs `podman push` of the ~200 MB, 4-layer Debian
# image (bench/pull.sh's) to an EMPTY docker-registry on 127.0.0.1 (a new
# one, with new storage, before every run), side by side in one hyperfine
# run. Both compress every layer with gzip and upload it. Each tool's
# blob-info cache is cleared before every run, so nothing is skipped.
#
#   npm run build && sh bench/push.sh          (root)
#
# Also checks that the image skiff pushed pulls back to the same image ID.
# Knobs: RUNS (5), WARMUP (1), SKIFF, SKIFF_PUSH_FLAGS (e.g. --compression-level 1), BENCH_OUT, SKIFF_BENCH_CACHE,
# SKIFF_BENCH_WORK (/var/tmp). Needs: hyperfine, python3, docker-registry,
# skopeo, root; podman only as the reference.
RUNS=${RUNS:-5}
WARMUP=${WARMUP:-1}
. "$(dirname "$0")/lib.sh"
need docker-registry
need skopeo
[ "$(id -u)" = 0 ] || { echo "bench: run as root (overlay stores)" >&2; exit 1; }

WORK=$(mktemp -d "${SKIFF_BENCH_WORK:-/var/tmp}/skiff-bench-push.XXXXXX")
REG_PID=
cleanup() {
  [ -n "$REG_PID" ] && kill "$REG_PID" 2>/dev/null && wait "$REG_PID" 2>/dev/null
  [ -f "$WORK/dest.pid" ] && kill "$(cat "$WORK/dest.pid")" 2>/dev/null
  for m in $(awk -v w="$WORK/" 'index($5, w) == 1 { print $5 }' /proc/self/mountinfo | sort -r); do umount -l "$m" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

bench_debian_image || exit 1

bench_private_config

bench_source_stores

# The destination: a docker-registry restarted with empty storage before every run.
DPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
DEST=127.0.0.1:$DPORT/pushed/debian:latest
cat >"$WORK/dest.yml" <<EOF2
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $WORK/dest-storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$DPORT
EOF2
cat >"$WORK/fresh.sh" <<EOF2
[ -f "$WORK/dest.pid" ] && kill "\$(cat "$WORK/dest.pid")" 2>/dev/null && while kill -0 "\$(cat "$WORK/dest.pid")" 2>/dev/null; do sleep 0.05; done
rm -rf "$WORK/dest-storage" "$SS/root/cache" "$PS/root/cache"
mkdir -p "$WORK/dest-storage"
# REGISTRY_* variables are docker-registry config overrides: keep REGISTRY_AUTH_FILE away from it.
env -u REGISTRY_AUTH_FILE docker-registry serve "$WORK/dest.yml" >"$WORK/dest.log" 2>&1 &
echo \$! >"$WORK/dest.pid"
python3 -c '
import socket, time
for _ in range(400):
    try:
        socket.create_connection(("127.0.0.1", $DPORT), 1).close(); break
    except OSError: time.sleep(0.05)
'
sync
EOF2

PUSH_S="$SKIFF --root $SS/root --runroot $SS/run push -q --tls-verify=false ${SKIFF_PUSH_FLAGS:-} $IMAGE $DEST"
PUSH_P="podman --root $PS/root --runroot $PS/run --tmpdir $PS/tmp --storage-driver overlay push -q --tls-verify=false $IMAGE $DEST"
# One unmeasured push of each first: a failure shows its message here.
sh "$WORK/fresh.sh"
$PUSH_S || { echo "bench: skiff push failed" >&2; cat "$WORK/dest.log" >&2; exit 1; }
if have_podman; then sh "$WORK/fresh.sh"; $PUSH_P >/dev/null || { echo "bench: podman push failed" >&2; exit 1; }; fi

set -- -n skiff "$PUSH_S"
have_podman && set -- "$@" -n podman "$PUSH_P"
echo "== push $IMAGE to an empty registry (runs $RUNS, warmup $WARMUP)"
echo "   skiff:  $PUSH_S"
have_podman && echo "   podman: $PUSH_P"
hyperfine -N --style basic --warmup "$WARMUP" --runs "$RUNS" --prepare "sh $WORK/fresh.sh" \
  --export-json "$BENCH_OUT/push.json" "$@" >"$BENCH_OUT/push.txt" 2>&1 || { cat "$BENCH_OUT/push.txt" >&2; exit 1; }

# Round trip: what skiff pushed pulls back to the same image ID.
sh "$WORK/fresh.sh"
$PUSH_S
mkdir -p "$WORK/check"
BACK=$($SKIFF --root "$WORK/check/root" --runroot "$WORK/check/run" pull -q --tls-verify=false "$DEST" | tail -n1)
echo "image ID: pulled $ID, pulled back after skiff's push $BACK"
[ "$BACK" = "$ID" ] || echo "bench: WARNING: the pushed image has another ID" >&2

python3 - "$BENCH_OUT/push.json" "$LAYOUT" <<'PY'
import json, os, sys
path, layout = sys.argv[1:3]
def blob(d): return os.path.join(layout, "blobs", *d.split(":"))
idx = json.load(open(os.path.join(layout, "index.json")))
man = json.load(open(blob(idx["manifests"][0]["digest"])))
gz = sum(l["size"] for l in man["layers"]) / 1e6
results = {r["command"]: r for r in json.load(open(path))["results"]}
print(f"image: {len(man['layers'])} layers, about {gz:.1f} MB gzip")
for name, r in results.items():
    print(f"median push {name:<8} = {r['median']:6.2f} s   (mean {r['mean']:.2f} ± {r['stddev']:.2f} s, min {r['min']:.2f}; user {r['user']:.2f} + sys {r['system']:.2f} s)")
if "skiff" in results and "podman" in results:
    s, p = results["skiff"], results["podman"]
    print(f"ratio push skiff/podman = {s['median'] / p['median']:.2f}   (push median: skiff {s['median']:.2f} s, podman {p['median']:.2f} s)")
    print(f"min ratio push skiff/podman = {s['min'] / p['min']:.2f}")
    print(f"cpu ratio push skiff/podman = {(s['user'] + s['system']) / (p['user'] + p['system']):.2f}")
PY
echo "hyperfine exports: $BENCH_OUT"
