#!/usr/bin/env bash
# Layer extraction speed: skiff's extractLayer vs GNU tar on the same
# layer and the same disk, in alternating runs, uncompressed (skiff's
# extractLayer vs `tar -xpf`) and gzipped (skiff's pull path vs `tar -xzpf`,
# see below). Prints the ratio
# (skiff / tar, medians and means) per layer, whole-process and net of
# Node's start-up (inside the CLI the extractor runs in an already-started
# process), wall-clock and CPU; the target is <= 1.1. Runs alternate between
# the tools (see below). This VM's disk is noisy: use RUNS=15+.
#
#   bench/unpack.sh [WORKDIR]        (default /var/tmp/skiff-bench-unpack; run as root)
#
# Layers: (a) ~50 MB with ~1.5k files (a slice of /usr/lib), (b) many small
# files (~30k+ entries from /usr/share and /usr/lib). Override with
# LAYER_A=/path/a.tar LAYER_B=/path/b.tar.
#
# LAYERS="a b" (default both) picks the layers.
# MODES="tar gz" (default both): `tar` = the uncompressed layer, skiff's
# extractLayer fed from the file; `gz` = the layer gzipped once (gzip -6,
# gzip's default, cached as LAYER.gz next to the tar, or in WORKDIR when
# that directory is not writable), `tar --numeric-owner -xzpf` (gzip in a
# second process) vs skiff's pull path, unpackLayerBlob (layer-stream.ts):
# gunzip and the sha256 of the tar (on an addon thread), checked against the diff ID
# (computed once, cached as LAYER.sha256), the tar-split recorded, the
# extraction. BASELINE=DIR adds a fourth command, "skiff base": DIR's
# unpack-one.js (with its skiff_native.node beside it), e.g. the bundle of
# an earlier commit, to compare before/after in the same runs.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
WORK=${1:-/var/tmp/skiff-bench-unpack}
RUNS=${RUNS:-10}
MODES=${MODES:-tar gz}
mkdir -p "$WORK"


make_layer_a() { # ~50 MB, ~1.5k files: /usr/lib files of 12-160 KiB, by path, until 50 MB
  local out=$1 list=$WORK/a.list
  (cd / && find usr/lib -xdev -type f -size +12k -size -160k -printf '%s %p\n' 2>/dev/null || true) |
    sort -k2 | awk '{ if (s + $1 <= 50000000) { s += $1; print $2 } }' >"$list"
  tar -C / --numeric-owner -cf "$out" -T "$list"
}
make_layer_b() { # many small files (~29k entries, ~120 MB)
  tar -C / --numeric-owner -cf "$1" usr/share/man usr/share/zoneinfo usr/share/mime usr/share/perl5 usr/lib/node_modules 2>/dev/null || true
}

A=${LAYER_A:-$WORK/layer-a.tar}
B=${LAYER_B:-$WORK/layer-b.tar}
[ -s "$A" ] || make_layer_a "$A"
[ -s "$B" ] || make_layer_b "$B"

# Bundle the driver once so the figures measure extraction, not tsx's TypeScript loader.
npx esbuild --bundle --platform=node --target=node20 --log-level=error "$ROOT/bench/unpack-one.ts" --outfile="$WORK/unpack-one.js"
cp "$ROOT/native/build/Release/skiff_native.node" "$WORK/skiff_native.node"
DRIVER="node $WORK/unpack-one.js"

# The gzipped layer and the tar's sha256 (its diff ID), made once.
gz_of() {
  local layer=$1 gz=$1.gz
  [ -w "$(dirname "$layer")" ] || gz=$WORK/$(basename "$layer").gz
  if [ ! -s "$gz" ]; then gzip -6 -c "$layer" >"$gz.tmp.$$" && mv "$gz.tmp.$$" "$gz"; fi
  echo "$gz"
}
diffid_of() {
  local layer=$1 f=$1.sha256
  [ -w "$(dirname "$layer")" ] || f=$WORK/$(basename "$layer").sha256
  if [ ! -s "$f" ]; then sha256sum "$layer" | cut -d' ' -f1 >"$f.tmp.$$" && mv "$f.tmp.$$" "$f"; fi
  echo "sha256:$(cat "$f")"
}

LAYERS=${LAYERS:-a b}
for layer in $(for l in $LAYERS; do case $l in a) echo "$A" ;; b) echo "$B" ;; esac; done); do
for mode in $MODES; do
  name=$(basename "$layer" .tar)
  files=$(tar -tf "$layer" | wc -l)
  size=$(du -m "$layer" | cut -f1)
  if [ "$mode" = gz ]; then
    gz=$(gz_of "$layer")
    id=$(diffid_of "$layer")
    echo "== $name, gzip: $files entries, $size MB ($(du -m "$gz" | cut -f1) MB gzipped): tar -xzpf vs skiff's pull path"
    TAR_CMD="tar --numeric-owner -xzpf $gz -C {dir}"
    SKIFF_ARGS="$gz {dir} $id"
    name=$name-gz
  else
    echo "== $name: $files entries, $size MB"
    TAR_CMD="tar --numeric-owner -xpf $layer -C {dir}"
    SKIFF_ARGS="$layer {dir}"
  fi
  CMDS=("tar=$TAR_CMD" "skiff=$DRIVER $SKIFF_ARGS" "node start-up=$DRIVER --startup-only")
  [ -n "${BASELINE:-}" ] && CMDS+=("skiff base=node $BASELINE/unpack-one.js $SKIFF_ARGS")
  out=$WORK/$name.json
  # Every run gets a fresh directory and nothing is deleted until the end:
  # on this ext4 (mounted with discard) freeing blocks between runs costs
  # more than the runs themselves and lands in whichever run comes next.
  # `sync` before each timed run flushes the previous run's writeback. The
  # three commands alternate (tar, skiff, start-up, tar, ...) rather than
  # hyperfine's all-of-one-then-the-next, so load and writeback drift hit
  # each the same. The JSON has hyperfine's shape (median, mean, stddev,
  # user, system in seconds) for the report below.
  python3 - "$out" "$RUNS" "$WORK" "${CMDS[@]}" <<'PY'
import json, os, statistics, subprocess, sys, tempfile, time
out, runs, work, pairs = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
cmds = [p.split('=', 1) for p in pairs]
res = {n: {'times': [], 'cpu_u': [], 'cpu_s': []} for n, _ in cmds}
for i in range(runs + 1):  # the first round is a warm-up
    for name, cmd in cmds:
        d = tempfile.mkdtemp(prefix='run.', dir=work)
        subprocess.run(['sync'])
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd.replace('{dir}', d), shell=True)
        _, status, ru = os.wait4(p.pid, 0)
        t = time.perf_counter() - t0
        if status != 0:
            sys.exit(f'{name} failed: {cmd}')
        if i > 0:
            res[name]['times'].append(t)
            res[name]['cpu_u'].append(ru.ru_utime)
            res[name]['cpu_s'].append(ru.ru_stime)
results = []
for name, r in res.items():
    ts = r['times']
    results.append({'command': name, 'times': ts, 'median': statistics.median(ts), 'mean': statistics.mean(ts),
                    'stddev': statistics.stdev(ts) if len(ts) > 1 else 0.0,
                    'user': statistics.mean(r['cpu_u']), 'system': statistics.mean(r['cpu_s'])})
json.dump({'results': results}, open(out, 'w'))
PY
  rm -rf "$WORK"/run.*
  node -e '
    const r = require(process.argv[1]).results;
    const get = (n) => r.find((x) => x.command === n);
    const t = get("tar"), n = get("node start-up");
    const ms = (x) => (x.median * 1000).toFixed(0) + " ms (mean " + (x.mean * 1000).toFixed(0) + " ± " + (x.stddev * 1000).toFixed(0) + ")";
    const cpu = (x) => x.user + x.system;
    const tag = process.argv[2] === "gz" ? " (gzip)" : "";
    console.log("  tar" + (tag ? " -xzpf" : " -xpf") + ":      " + ms(t) + "\n  node start-up:  " + ms(n));
    for (const label of ["skiff", "skiff base"]) {
      const s = get(label);
      if (!s) continue;
      console.log("  " + (label + ":").padEnd(16) + ms(s));
      console.log("    ratio" + tag + " (median, whole process):   " + (s.median / t.median).toFixed(2) + "x   (mean: " + (s.mean / t.mean).toFixed(2) + "x)");
      console.log("    ratio" + tag + " (median, net of start-up): " + ((s.median - n.median) / t.median).toFixed(2) + "x");
      console.log("    cpu (user+sys, mean): tar " + (cpu(t) * 1000).toFixed(0) + " ms, " + label + " " + (cpu(s) * 1000).toFixed(0) + " ms, node start-up " + (cpu(n) * 1000).toFixed(0) + " ms");
      console.log("    cpu ratio" + tag + " (net of start-up):     " + ((cpu(s) - cpu(n)) / cpu(t)).toFixed(2) + "x");
    }
  ' "$out" "$mode"
done
done
