# Shared set-up for bench/cp.sh and bench/commit.sh (source it after lib.sh):
# a private copy of skiff, the busybox test image in a docker-registry on
# 127.0.0.1, private containers.conf/registries.conf for both tools (podman:
# runc, ulimits this host allows; see bench/run.sh), the image pulled into a
# temporary store per tool. Sets WORK, SKIFF_G, PODMAN_G, BENCH_IMG, TOOLS,
# and the function fs_compare NAME RUNS WARMUP SKIFF-PREP SKIFF-CMD PODMAN-PREP PODMAN-CMD.
need docker-registry
need skopeo
need conmon
need runc
[ "$(id -u)" = 0 ] || { echo "bench: run as root (overlay stores, runc)" >&2; exit 1; }

WORK=$(mktemp -d "${SKIFF_BENCH_WORK:-/var/tmp}/skiff-bench-fs.XXXXXX")
REG_PID=
fs_cleanup() {
  set +e
  for G in "${SKIFF_G:-}" "${PODMAN_G:-}"; do
    [ -n "$G" ] || continue
    # shellcheck disable=SC2086
    ids=$($G ps -a -q 2>/dev/null)
    # shellcheck disable=SC2086
    [ -z "$ids" ] || $G rm -f $ids >/dev/null 2>&1
  done
  [ -n "$REG_PID" ] && kill "$REG_PID" 2>/dev/null && wait "$REG_PID" 2>/dev/null
  for m in $(awk -v w="$WORK/" 'index($5, w) == 1 { print $5 }' /proc/self/mountinfo | sort -r); do umount -l "$m" 2>/dev/null; done
  rm -rf "$WORK"
}
trap fs_cleanup EXIT
trap 'exit 130' INT TERM HUP

bench_container_setup || exit 1
for t in $TOOLS; do
  if [ "$t" = skiff ]; then G=$SKIFF_G; else G=$PODMAN_G; fi
  # shellcheck disable=SC2086
  $G pull -q --tls-verify=false "$BENCH_IMG" >"$WORK/pull.$t" 2>&1 || { cat "$WORK/pull.$t" >&2; echo "bench: $t pull failed" >&2; exit 1; }
done
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"

# fs_compare NAME RUNS WARMUP SKIFF-PREP SKIFF-CMD PODMAN-PREP PODMAN-CMD
fs_compare() {
  name=$1 runs=$2 warmup=$3 sp=$4 sc=$5 pp=$6 pc=$7
  if have_podman; then
    set -- --prepare "$sp" -n skiff "$sc" --prepare "$pp" -n podman "$pc"
  else
    set -- --prepare "$sp" -n skiff "$sc"
  fi
  echo "== $name (runs $runs, warmup $warmup)"
  echo "   skiff:  $sc"
  have_podman && echo "   podman: $pc"
  hyperfine -N --style basic --warmup "$warmup" --runs "$runs" --export-json "$BENCH_OUT/$name.json" "$@" >"$BENCH_OUT/$name.txt" 2>&1 || {
    sed 's/^/   | /' "$BENCH_OUT/$name.txt" >&2
    [ -s "$BENCH_STEP_LOG" ] && tail -n 20 "$BENCH_STEP_LOG" | sed 's/^/   | /' >&2
    echo "bench: $name FAILED" >&2
    return 1
  }
  bench_report "$name"
}
