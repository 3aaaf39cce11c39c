#!/bin/sh
# Networking speed: skiff vs podman on their default bridge networks (skiff:
# network `skiff`, bridge skiff0, CNI bridge+portmap+firewall+tuning; podman
# 4.3: its CNI backend and default network `podman`, bridge cni-podman0,
# 10.88.0.0/16, from a private network_config_dir so the host's
# /etc/cni/net.d is neither read nor written). Same set-up as bench/run.sh
# (bench_container_setup: private copy of skiff, busybox from a loopback
# registry, private stores and containers.conf).
#
#   npm run build && sh bench/network.sh      (root)
#
# Operations:
#   net-run    run --rm IMG true on the default network (issue target <= 0.5)
#   none-run   run --rm --network none IMG true: the same without networking;
#              net-run minus none-run is what the bridge network costs
#   slirp-run  run --rm --network slirp4netns IMG true (user-mode networking:
#              one slirp4netns per container; podman 4.3 as root also uses it)
#   par-start  PAR (20) containers created on the default network, then all
#              started at once (PAR `start` processes; creation is --prepare)
#   port       a busybox httpd published on 127.0.0.1:PORT (portmap DNAT):
#              CONNS (200) sequential HTTP/1.0 requests of a 3-byte file by
#              one curl (a new connection each: busybox httpd closes it),
#              median connect and total time; then XFER_RUNS (5) downloads of
#              a 50 MB file, median MB/s. Not hyperfine: curl's own timings.
#
# Knobs: RUNS (20), WARMUP (3), PAR (20), PAR_RUNS (10), PAR_WARMUP (2),
# CONNS (200), XFER_RUNS (5), ONLY (subset of: net-run none-run slirp-run par-start port), SKIFF,
# BENCH_OUT, SKIFF_BENCH_WORK (/var/tmp).
# Needs: hyperfine, python3, curl, docker-registry, skopeo, conmon, runc, CNI
# plugins, root; podman only as the reference.
SKIFF_GIVEN=${SKIFF:-}
RUNS=${RUNS:-20}
WARMUP=${WARMUP:-3}
. "$(dirname "$0")/lib.sh"
need docker-registry
need skopeo
need conmon
need runc
need curl
need slirp4netns
[ "$(id -u)" = 0 ] || { echo "bench: run as root (overlay stores, runc, CNI)" >&2; exit 1; }
PAR=${PAR:-20}
PAR_RUNS=${PAR_RUNS:-10}
PAR_WARMUP=${PAR_WARMUP:-2}
CONNS=${CONNS:-200}
XFER_RUNS=${XFER_RUNS:-5}
ONLY=${ONLY:-net-run slirp-run par-start port}
STEP="$BENCH_DIR/run-step.sh"

WORK=$(mktemp -d "${SKIFF_BENCH_WORK:-/var/tmp}/skiff-bench-net.XXXXXX")
REG_PID=
unmount_all() {
  for m in $(awk -v w="$WORK/" 'index($5, w) == 1 { print $5 }' /proc/self/mountinfo | sort -r); do umount -l "$m" 2>/dev/null || true; done
}
cleanup() {
  set +e
  if [ -n "${SKIFF_G:-}" ]; then
    for t in $TOOLS; do sh "$STEP" clean "$t" 2>/dev/null; done
  fi
  [ -n "$REG_PID" ] && kill "$REG_PID" 2>/dev/null && wait "$REG_PID" 2>/dev/null
  for d in /proc/[0-9]*; do
    { tr '\0' ' ' <"$d/cmdline"; } 2>/dev/null | grep -qF "$WORK/" && [ "${d#/proc/}" != $$ ] && kill -9 "${d#/proc/}" 2>/dev/null
  done
  unmount_all
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

bench_container_setup || exit 1
# podman: CNI (as skiff), its default network generated in memory from a
# private, empty config dir.
mkdir -p "$WORK/podman-cni"
cat >>"$WORK/containers.conf" <<CONF

[network]
network_backend = "cni"
network_config_dir = "$WORK/podman-cni"
CONF

for t in $TOOLS; do
  G=$(g "$t")
  # shellcheck disable=SC2086
  $G pull -q --tls-verify=false "$BENCH_IMG" >"$WORK/pull.$t" 2>&1 || { cat "$WORK/pull.$t" >&2; echo "bench: $t pull failed" >&2; exit 1; }
  # shellcheck disable=SC2086
  out=$($G run --rm "$BENCH_IMG" sh -c 'ip -o -4 addr show eth0' 2>&1) || { echo "$out" >&2; echo "bench: $t run on the default network failed" >&2; exit 1; }
  echo "$t: default network: $(echo "$out" | awk '{print $4}')"
done
# The two default networks must not share a subnet (both NAT through iptables).
echo "bridges: $(ip -o -4 addr show | awk '$2 ~ /^(skiff0|cni-podman0)$/ {print $2, $4}' | tr '\n' ' ')"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"

FAILED=
want() { case " $ONLY " in *" $1 "*) return 0 ;; esac; return 1; }
hf() { # NAME TARGET RUNS WARMUP hyperfine-args...
  name=$1 target=$2 runs=$3 warmup=$4
  shift 4
  : >"$BENCH_STEP_LOG"
  echo "== $name (runs $runs, warmup $warmup)"
  if hyperfine -N --style basic --warmup "$warmup" --runs "$runs" --export-json "$BENCH_OUT/$name.json" "$@" >"$BENCH_OUT/$name.txt" 2>&1; then
    bench_report "$name" "$target"
  else
    sed 's/^/   | /' "$BENCH_OUT/$name.txt" >&2
    [ -s "$BENCH_STEP_LOG" ] && sed 's/^/   | /' "$BENCH_STEP_LOG" >&2
    echo "bench: $name FAILED" >&2
    FAILED="$FAILED $name"
  fi
  for t in $TOOLS; do sh "$STEP" clean "$t"; done
}

if want net-run; then
  set -- -n skiff "$SKIFF_G run --rm $BENCH_IMG true"
  have_podman && set -- "$@" -n podman "$PODMAN_G run --rm $BENCH_IMG true"
  echo "   skiff:  $SKIFF_G run --rm $BENCH_IMG true"
  hf net-run 0.5 "$RUNS" "$WARMUP" "$@"
fi

if want none-run; then
  set -- -n skiff "$SKIFF_G run --rm --network none $BENCH_IMG true"
  have_podman && set -- "$@" -n podman "$PODMAN_G run --rm --network none $BENCH_IMG true"
  hf none-run 1 "$RUNS" "$WARMUP" "$@"
fi

if want slirp-run; then
  set -- -n skiff "$SKIFF_G run --rm --network slirp4netns $BENCH_IMG true"
  have_podman && set -- "$@" -n podman "$PODMAN_G run --rm --network slirp4netns $BENCH_IMG true"
  echo "   skiff:  $SKIFF_G run --rm --network slirp4netns $BENCH_IMG true"
  hf slirp-run 0.5 "$RUNS" "$WARMUP" "$@"
fi

if want par-start; then
  set -- --prepare "sh $STEP prep-par skiff $PAR" -n skiff "sh $STEP par-start skiff $PAR"
  have_podman && set -- "$@" --prepare "sh $STEP prep-par podman $PAR" -n podman "sh $STEP par-start podman $PAR"
  hf par-start 0.5 "$PAR_RUNS" "$PAR_WARMUP" "$@"
fi

if want port; then
  echo "== port: $CONNS connections, then $XFER_RUNS x 50 MB through -p 127.0.0.1:PORT:80"
  SERVE='mkdir /www && echo ok >/www/small && dd if=/dev/zero of=/www/big bs=1M count=50 2>/dev/null && exec httpd -f -p 80 -h /www'
  for t in $TOOLS; do
    G=$(g "$t")
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    # shellcheck disable=SC2086
    $G run -d --name bench-port -p "127.0.0.1:$port:80" "$BENCH_IMG" sh -c "$SERVE" >/dev/null || { FAILED="$FAILED port-$t"; continue; }
    i=0
    until curl -sf -o /dev/null "http://127.0.0.1:$port/big"; do
      i=$((i + 1))
      [ "$i" -lt 100 ] || { echo "bench: $t: the published port never answered" >&2; FAILED="$FAILED port-$t"; break; }
      sleep 0.1
    done
    urls=$(python3 -c "print(' '.join(['-o /dev/null http://127.0.0.1:$port/small'] * $CONNS))")
    # shellcheck disable=SC2086
    curl -s -w '%{time_connect} %{time_total}\n' $urls >"$WORK/lat.$t"
    : >"$WORK/xfer.$t"
    i=0
    while [ "$i" -lt "$XFER_RUNS" ]; do
      curl -s -o /dev/null -w '%{speed_download} %{size_download}\n' "http://127.0.0.1:$port/big" >>"$WORK/xfer.$t"
      i=$((i + 1))
    done
    # shellcheck disable=SC2086
    $G rm -f -t 0 bench-port >/dev/null
  done
  python3 - "$WORK" $TOOLS <<'PY'
import statistics, sys
work, tools = sys.argv[1], sys.argv[2:]
res = {}
for t in tools:
    try:
        lat = [tuple(map(float, l.split())) for l in open(f"{work}/lat.{t}") if l.strip()]
        xfer = [tuple(map(float, l.split())) for l in open(f"{work}/xfer.{t}") if l.strip()]
    except OSError:
        continue
    if not lat or not xfer:
        continue
    conn = statistics.median(c for c, _ in lat) * 1000
    tot = statistics.median(x for _, x in lat) * 1000
    bad = [s for _, s in xfer if s != 52428800]
    mbs = statistics.median(s for s, _ in xfer) / 1e6
    res[t] = (tot, mbs)
    print(f"{t:<7} connections: {len(lat)}, median connect {conn:.3f} ms, median request {tot:.3f} ms; 50 MB: median {mbs:.0f} MB/s over {len(xfer)} runs" + (f" (WARNING: short transfers {bad})" if bad else ""))
if "skiff" in res and "podman" in res:
    print(f"ratio skiff/podman = {res['skiff'][0] / res['podman'][0]:.2f}   (port request latency, median)")
    print(f"ratio skiff/podman = {res['skiff'][1] / res['podman'][1]:.2f}   (port throughput MB/s, median; higher is better)")
PY
fi

echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
[ -z "$FAILED" ] || { echo "bench: failed:$FAILED" >&2; exit 1; }
