#!/bin/sh
# Pull speed: `skiff pull` vs `podman pull` of a ~200 MB, 4-layer Debian
# image (93 MB gzip) from a docker-registry on 127.0.0.1, side by side in one
# hyperfine run, every run into a new, empty store. The issue's target:
# skiff <= 0.7 x podman.
#
#   npm run build && sh bench/pull.sh          (root: overlay stores)
#
# Prints ratios (median, mean, min, user+sys), pulled MB/s and the peak RSS
# of one separate pull of each (/usr/bin/time; also checks that both pulled
# the same image ID). The image is built once by bench/build-debian-image.ts
# and cached under $SKIFF_BENCH_CACHE (/var/tmp/skiff-bench, with the
# debootstrap rootfs). Knobs: RUNS (5), WARMUP (1), SKIFF, BENCH_OUT,
# SKIFF_BENCH_CACHE, SKIFF_BENCH_WORK (where the stores go; /var/tmp).
# Needs: hyperfine, python3, docker-registry, skopeo, /usr/bin/time, root;
# podman only as the reference.
RUNS=${RUNS:-5}
WARMUP=${WARMUP:-1}
. "$(dirname "$0")/lib.sh"
need docker-registry
need skopeo
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time is required (apt-get install time)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "bench: run as root (overlay stores)" >&2; exit 1; }

WORK=$(mktemp -d "${SKIFF_BENCH_WORK:-/var/tmp}/skiff-bench-pull.XXXXXX")
REG_PID=
cleanup() {
  [ -n "$REG_PID" ] && kill "$REG_PID" 2>/dev/null && wait "$REG_PID" 2>/dev/null
  [ -f "$WORK/next.sh" ] && sh "$WORK/next.sh" final
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

bench_debian_image || exit 1
cat "$WORK/registry.err"

# Private config for both tools: no host registries.conf, no host credentials.
bench_private_config

# Every run pulls into a fresh store under $WORK/runs, reached through the
# symlink $WORK/cur that --prepare (next.sh) repoints; nothing is deleted
# until the end: on this VM's ext4 (mounted with discard) freeing ~200 MB of
# blocks costs more than a pull and lands on whichever runs come next, even
# after a sync. next.sh also unmounts what a run left mounted (podman's
# overlay driver bind-mounts its overlay/ dir onto itself) and syncs, so the
# previous run's writeback is not charged to the next one.
S=$WORK/cur/skiff
P=$WORK/cur/podman
SKIFF_CMD="$SKIFF --root $S/root --runroot $S/run --storage-driver overlay pull -q --tls-verify=false $IMAGE"
PODMAN_CMD="podman --root $P/root --runroot $P/run --tmpdir $P/tmp --storage-driver overlay pull -q --tls-verify=false $IMAGE"
mkdir -p "$WORK/runs"
cat >"$WORK/next.sh" <<EOF
for m in \$(awk -v w="$WORK/" 'index(\$5, w) == 1 { print \$5 }' /proc/self/mountinfo | sort -r); do umount -l "\$m" 2>/dev/null || true; done
[ "\${1:-}" = final ] && exit 0
d=\$(mktemp -d "$WORK/runs/run.XXXXXX")
mkdir -p "\$d/skiff" "\$d/podman/tmp"
ln -sfn "\$d" "$WORK/cur"
sync
EOF

sh "$WORK/next.sh" # $WORK/cur exists before anything uses it (warmup runs too)

set -- -n skiff "$SKIFF_CMD"
have_podman && set -- "$@" -n podman "$PODMAN_CMD"
echo "== pull $IMAGE (runs $RUNS, warmup $WARMUP, each into a new store)"
echo "   skiff:  $SKIFF_CMD"
have_podman && echo "   podman: $PODMAN_CMD"
echo "   (\$WORK/cur -> a new directory before every run; WORK=$WORK)"
hyperfine -N --style basic --warmup "$WARMUP" --runs "$RUNS" --prepare "sh $WORK/next.sh" \
  --export-json "$BENCH_OUT/pull.json" "$@" >"$BENCH_OUT/pull.txt" 2>&1 || {
  cat "$BENCH_OUT/pull.txt" >&2
  exit 1
}

# One more measured pull of each: peak RSS, and a check that both pulled the same image.
rss() { # NAME CMD...
  name=$1
  shift
  sh "$WORK/next.sh"
  /usr/bin/time -f '%M %e %U %S' -o "$WORK/rss.$name" "$@" >"$WORK/id.$name" || { echo "bench: $name pull failed" >&2; exit 1; }
}
# shellcheck disable=SC2086
rss skiff $SKIFF_CMD
# shellcheck disable=SC2086
have_podman && rss podman $PODMAN_CMD
if have_podman && [ "$(tail -n1 "$WORK/id.skiff")" != "$(tail -n1 "$WORK/id.podman")" ]; then
  echo "bench: WARNING: skiff pulled $(tail -n1 "$WORK/id.skiff"), podman $(tail -n1 "$WORK/id.podman")" >&2
fi
sh "$WORK/next.sh" final
left=$(awk -v w="$WORK/" 'index($5, w) == 1' /proc/self/mountinfo | wc -l)

python3 - "$BENCH_OUT/pull.json" "$LAYOUT" "$WORK" "$left" <<'PY'
import json, os, sys
path, layout, work, left = sys.argv[1:5]
def blob(d): return os.path.join(layout, "blobs", *d.split(":"))
idx = json.load(open(os.path.join(layout, "index.json")))
man = json.load(open(blob(idx["manifests"][0]["digest"])))
gz = sum(l["size"] for l in man["layers"]) / 1e6
results = {r["command"]: r for r in json.load(open(path))["results"]}
print(f"image: {len(man['layers'])} layers, {gz:.1f} MB gzip")
for name, r in results.items():
    cpu = r["user"] + r["system"]
    print(f"median {name:<8} = {r['median']:6.2f} s   (mean {r['mean']:.2f} ± {r['stddev']:.2f} s, min {r['min']:.2f}, max {r['max']:.2f}; user {r['user']:.2f} + sys {r['system']:.2f} s)")
    print(f"MB/s {name:<10} = {gz / r['mean']:6.1f} MB/s gzip pulled (mean; fastest run {gz / r['min']:.1f})")
if "skiff" in results and "podman" in results:
    s, p = results["skiff"], results["podman"]
    print(f"ratio skiff/podman = {s['median'] / p['median']:.2f}   (pull median: skiff {s['median']:.2f} s, podman {p['median']:.2f} s; target <= 0.7)")
    print(f"mean ratio skiff/podman = {s['mean'] / p['mean']:.2f}   (pull mean: skiff {s['mean']:.2f} s, podman {p['mean']:.2f} s)")
    print(f"min ratio skiff/podman = {s['min'] / p['min']:.2f}   (pull fastest runs: skiff {s['min']:.2f} s, podman {p['min']:.2f} s)")
    sc, pc = s["user"] + s["system"], p["user"] + p["system"]
    print(f"cpu ratio skiff/podman = {sc / pc:.2f}   (pull user+sys: skiff {sc:.2f} s, podman {pc:.2f} s)")
rss = {}
for name in ("skiff", "podman"):
    f = os.path.join(work, "rss." + name)
    if os.path.exists(f):
        kb, wall, user, sys_ = open(f).read().split()[-4:]
        rss[name] = int(kb) / 1024
        print(f"peak rss {name:<8} = {rss[name]:6.1f} MB   (one more pull: {float(wall):.2f} s wall, user {float(user):.2f} + sys {float(sys_):.2f} s)")
if len(rss) == 2:
    print(f"rss ratio skiff/podman = {rss['skiff'] / rss['podman']:.2f}")
print(f"mounts left under the work dir: {left}")
PY
echo "hyperfine exports: $BENCH_OUT"
