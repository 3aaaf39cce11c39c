# Shared helpers for skiff's benchmarks. Source it from a bench/*.sh script:
#   . "$(dirname "$0")/lib.sh"
# Every benchmark runs skiff and podman side by side in ONE hyperfine run
# (same machine, same moment: machines are noisy) and prints lines such as
#   ratio skiff/podman = 0.42   (version: skiff 71.0 ms, podman 168.9 ms)
# that are easy to grep. Needs hyperfine and python3; podman is optional
# (a reference only: without it the podman rows and ratios are skipped).
#
# Environment:
#   SKIFF       skiff command to benchmark (default: what install.sh puts on
#               PATH: dist/skiff-launch of this tree, else bin/skiff)
#   SKIFF_SEA   single binary (default: dist/skiff-bin when it exists)
#   RUNS        hyperfine --runs (default 30); WARMUP --warmup (default 5)
#   BENCH_OUT   directory for hyperfine's JSON exports (default: a temp dir)

set -eu

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$BENCH_DIR/.." && pwd)
if [ -z "${SKIFF:-}" ] && [ -x "$REPO/dist/skiff-launch" ]; then SKIFF=$REPO/dist/skiff-launch; fi
SKIFF=${SKIFF:-$REPO/bin/skiff}
if [ -z "${SKIFF_SEA:-}" ] && [ -x "$REPO/dist/skiff-bin" ]; then SKIFF_SEA=$REPO/dist/skiff-bin; fi
SKIFF_SEA=${SKIFF_SEA:-}
RUNS=${RUNS:-30}
WARMUP=${WARMUP:-5}
BENCH_OUT=${BENCH_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/skiff-bench.XXXXXX")}
mkdir -p "$BENCH_OUT"

# Node parses $NODE_EXTRA_CA_CERTS at every start (~40 ms of CPU on the
# development VM, where it is set). bin/skiff hands it over without Node
# parsing it, but `node -e 0`, the single binary and the podman-side tools
# would pay or not pay it unevenly: every benchmark runs without it.
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ]; then
  echo "bench: NODE_EXTRA_CA_CERTS=$NODE_EXTRA_CA_CERTS unset for the runs (Node would parse it at every start)"
  unset NODE_EXTRA_CA_CERTS
fi

need() {
  command -v "$1" >/dev/null 2>&1 || { echo "bench: $1 is required" >&2; exit 1; }
}
need hyperfine
need python3

have_podman() {
  command -v podman >/dev/null 2>&1
}

# bench_compare NAME LABEL=COMMAND...
# Runs the commands side by side (hyperfine -N: no intermediate shell, so a
# command is split on spaces: keep quoting out of it), exports JSON to
# $BENCH_OUT/NAME.json and prints each command's median.
bench_compare() {
  name=$1
  shift
  set -- "$@"
  hf_args=""
  i=0
  for pair in "$@"; do
    label=${pair%%=*}
    cmd=${pair#*=}
    i=$((i + 1))
    eval "hf_cmd_$i=\$cmd"
    eval "hf_label_$i=\$label"
  done
  n=$i
  # Build hyperfine's argv: -n LABEL CMD for each command.
  set --
  i=1
  while [ "$i" -le "$n" ]; do
    eval "set -- \"\$@\" -n \"\$hf_label_$i\" \"\$hf_cmd_$i\""
    i=$((i + 1))
  done
  echo "== $name (runs $RUNS, warmup $WARMUP)"
  hyperfine -N -i --style basic --warmup "$WARMUP" --runs "$RUNS" --export-json "$BENCH_OUT/$name.json" "$@" >"$BENCH_OUT/$name.txt" 2>&1 || {
    cat "$BENCH_OUT/$name.txt" >&2
    return 1
  }
  python3 - "$BENCH_OUT/$name.json" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(f"median {r['command']:<24} = {r['median'] * 1000:7.1f} ms   (mean {r['mean'] * 1000:.1f} ± {r['stddev'] * 1000:.1f} ms, min {r['min'] * 1000:.1f})")
PY
}

# bench_report NAME [TARGET]: from NAME's hyperfine export with commands
# named skiff and podman, a `median` line per command and the three ratios
# (wall-clock medians, user+system CPU, fastest runs), the first with
# `; target <= TARGET` when one is given.
bench_report() {
  python3 - "$BENCH_OUT/$1.json" "$1" "${2:-}" <<'PY'
import json, sys
path, name, target = sys.argv[1:4]
res = {r["command"]: r for r in json.load(open(path))["results"]}
for n, r in res.items():
    cpu = r["user"] + r["system"]
    sd = r["stddev"] or 0  # None for a single run
    print(f"median {n:<8} = {r['median'] * 1000:7.1f} ms   (mean {r['mean'] * 1000:.1f} ± {sd * 1000:.1f} ms, min {r['min'] * 1000:.1f}, max {r['max'] * 1000:.1f}; user+sys {cpu * 1000:.1f} ms)")
if "skiff" in res and "podman" in res:
    s, p = res["skiff"], res["podman"]
    t = f"; target <= {target}" if target else ""
    print(f"ratio skiff/podman = {s['median'] / p['median']:.2f}   ({name}: skiff {s['median'] * 1000:.1f} ms, podman {p['median'] * 1000:.1f} ms{t})")
    sc, pc = s["user"] + s["system"], p["user"] + p["system"]
    print(f"cpu ratio skiff/podman = {sc / pc:.2f}   ({name}: skiff {sc * 1000:.1f} ms, podman {pc * 1000:.1f} ms user+sys)")
    print(f"min ratio skiff/podman = {s['min'] / p['min']:.2f}   ({name}: fastest runs, skiff {s['min'] * 1000:.1f} ms, podman {p['min'] * 1000:.1f} ms)")
PY
}

# bench_ratio NAME A B: prints `ratio A/B = X` from NAME's wall-clock
# medians, and `cpu ratio A/B = X` from user+system CPU time (mean), which a
# busy machine disturbs less, and `min ratio A/B` from the fastest runs.
bench_ratio() {
  python3 - "$BENCH_OUT/$1.json" "$2" "$3" "$1" <<'PY'
import json, sys
path, a, b, name = sys.argv[1:5]
results = json.load(open(path))["results"]
res = {r["command"]: r["median"] for r in results}
cpu = {r["command"]: r["user"] + r["system"] for r in results}
low = {r["command"]: r["min"] for r in results}
if a in res and b in res:
    print(f"ratio {a}/{b} = {res[a] / res[b]:.2f}   ({name}: {a} {res[a] * 1000:.1f} ms, {b} {res[b] * 1000:.1f} ms)")
    print(f"cpu ratio {a}/{b} = {cpu[a] / cpu[b]:.2f}   ({name}: {a} {cpu[a] * 1000:.1f} ms, {b} {cpu[b] * 1000:.1f} ms user+sys)")
    print(f"min ratio {a}/{b} = {low[a] / low[b]:.2f}   ({name}: fastest runs, {a} {low[a] * 1000:.1f} ms, {b} {low[b] * 1000:.1f} ms)")
PY
}

# bench_bundle NAME...: bundles bench/NAME.ts into $WORK/NAME.js once, so
# the benchmarks run plain node with no TypeScript loader in the way.
bench_bundle() {
  for f in "$@"; do
    "$REPO/node_modules/.bin/esbuild" --bundle --platform=node --target=node20 --log-level=error --external:jose \
      "$BENCH_DIR/$f.ts" --outfile="$WORK/$f.js" || return 1
  done
}

# bench_registry ARGS...: starts `node $WORK/registry.js --parent $$ ARGS`
# (bench_bundle registry first) in the background, waits until it is ready,
# and sets REG_PID (for the caller's cleanup) and HOST (127.0.0.1:PORT).
bench_registry() {
  node "$WORK/registry.js" --parent $$ "$@" >"$WORK/registry.out" 2>"$WORK/registry.err" &
  REG_PID=$!
  while ! grep -q '^ready' "$WORK/registry.out" 2>/dev/null; do
    kill -0 "$REG_PID" 2>/dev/null || { cat "$WORK/registry.err" >&2; REG_PID=; return 1; }
    sleep 0.1
  done
  HOST=$(sed -n 's/^host=//p' "$WORK/registry.out")
}

# Private configuration for both tools in the caller's $WORK: an empty
# registries.conf, no credentials, no user or docker config from the host.
bench_private_config() {
  : >"$WORK/registries.conf"
  echo '{"auths":{}}' >"$WORK/auth.json"
  export CONTAINERS_REGISTRIES_CONF="$WORK/registries.conf" REGISTRY_AUTH_FILE="$WORK/auth.json"
  export XDG_CONFIG_HOME="$WORK/config" DOCKER_CONFIG="$WORK/docker-config" SKIFF_LOG_LEVEL=warn
}

# The ~200 MB Debian test image (bench/build-debian-image.ts, cached) pushed
# to a loopback registry started in $WORK; sets IMAGE.
bench_debian_image() {
  bench_bundle build-debian-image registry || return 1
  LAYOUT=$(node "$WORK/build-debian-image.js" debian)
  bench_registry --push "$LAYOUT" debian bench/debian:latest || return 1
  IMAGE=$HOST/bench/debian:latest
}

# IMAGE pulled once into a source store per tool (SS for skiff, PS for
# podman, when present); sets ID, the image ID skiff reports.
bench_source_stores() {
  SS=$WORK/src/skiff
  PS=$WORK/src/podman
  mkdir -p "$SS" "$PS/tmp"
  ID=$($SKIFF --root "$SS/root" --runroot "$SS/run" pull -q --tls-verify=false "$IMAGE" | tail -n1)
  if have_podman; then
    podman --root "$PS/root" --runroot "$PS/run" --tmpdir "$PS/tmp" --storage-driver overlay pull -q --tls-verify=false "$IMAGE" >/dev/null
  fi
}

# Container benchmarks' common set-up (run.sh, exec.sh, fs-setup.sh), in
# the caller's $WORK: a private copy of bin/skiff + dist/ (a concurrent
# `npm run build` must not crash the runs) unless SKIFF_GIVEN names one;
# the busybox test image pushed to a loopback registry (BENCH_IMG);
# private registries.conf, auth.json and a containers.conf for podman
# (runtime runc, crun refusing hybrid cgroups; ulimits this host allows:
# podman's defaults need CAP_SYS_RESOURCE, and podman caps its own nproc
# at 32768); SKIFF_G / PODMAN_G with private stores; TOOLS; g TOOL.
bench_container_setup() {
  if [ -z "${SKIFF_GIVEN:-}" ] && { [ "$SKIFF" = "$REPO/bin/skiff" ] || [ "$SKIFF" = "$REPO/dist/skiff-launch" ]; }; then
    mkdir -p "$WORK/tree/bin" "$WORK/tree/dist"
    cp -p "$REPO/bin/skiff" "$WORK/tree/bin/"
    (cd "$REPO/dist" && tar cf - --exclude=./skiff-bin --exclude=./skiff.js.map .) | (cd "$WORK/tree/dist" && tar xpf -)
    SKIFF=$WORK/tree/${SKIFF#"$REPO/"}
    how=$(SKIFF_LAUNCHER_DEBUG=1 "$SKIFF" version 2>&1 >/dev/null | sed -n 's/^skiff-launcher: \([a-z]*\).*/\1/p')
    echo "skiff: a copy of bin/ and dist/ in $WORK/tree, launcher ${SKIFF#"$WORK/tree/"} (starts from the $how)"
  fi
  bench_bundle run-image registry || return 1
  node "$WORK/run-image.js" "$WORK/layout" >/dev/null
  bench_registry --push "$WORK/layout" busybox bench/busybox:latest || return 1
  BENCH_IMG=$HOST/bench/busybox:latest
  bench_private_config
  NOFILE=$(awk '/^Max open files/ { print $5 }' /proc/self/limits)
  NPROC=$(awk '/^Max processes/ { print $4 }' /proc/self/limits)
  [ "$NPROC" = unlimited ] || [ "$NPROC" -gt 32768 ] && NPROC=32768
  [ "$NOFILE" = unlimited ] && NOFILE=1048576
  cat >"$WORK/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=$NOFILE:$NOFILE", "nproc=$NPROC:$NPROC"]

[engine]
runtime = "runc"
CONF
  export CONTAINERS_CONF="$WORK/containers.conf"
  mkdir -p "$WORK/podman/tmp"
  SKIFF_G="$SKIFF --root $WORK/skiff/root --runroot $WORK/skiff/run --storage-driver overlay"
  PODMAN_G="podman --root $WORK/podman/root --runroot $WORK/podman/run --tmpdir $WORK/podman/tmp --storage-driver overlay"
  BENCH_STEP_LOG=$BENCH_OUT/steps.log
  export SKIFF_G PODMAN_G BENCH_IMG BENCH_STEP_LOG
  TOOLS=skiff
  have_podman && TOOLS="skiff podman"
  return 0
}

# g TOOL: the tool's command with its global flags (after bench_container_setup).
g() {
  if [ "$1" = skiff ]; then echo "$SKIFF_G"; else echo "$PODMAN_G"; fi
}
