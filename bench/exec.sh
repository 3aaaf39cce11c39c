#!/bin/sh
# exec speed: `exec C true` into a running container, skiff vs podman side by
# side in one hyperfine run, on the busybox image of bench/run.sh (built by
# bench/run-image.ts, pulled from a docker-registry on 127.0.0.1 into a
# temporary store per tool; --network none everywhere).
#
#   npm run build && sh bench/exec.sh          (root: overlay, conmon, runc)
#
# Operations (skiff/podman median ratios):
#   exec      exec bench-exec true              (attached: stdout/stderr, exit status)
#   exec-i    exec -i bench-exec true            (stdin attached too; stdin is /dev/null)
#   exec-d    exec -d bench-exec true            (detached: returns once the process runs)
# The container (`sleep` in a TERM-handling shell) is started once per tool,
# before any timing, and removed at the end; exec sessions leave nothing
# behind but their (removed) session directory, which is checked.
#
# podman here needs the private containers.conf of bench/run.sh (runtime runc,
# default_ulimits within this host's hard limits).
# Knobs: RUNS (30), WARMUP (5); SKIFF (default: a private copy of bin/skiff +
# dist/, as in bench/run.sh), BENCH_OUT, SKIFF_BENCH_WORK (/var/tmp).
# Needs: hyperfine, python3, docker-registry, skopeo, conmon, runc, root;
# podman only as the reference.
SKIFF_GIVEN=${SKIFF:-}
. "$(dirname "$0")/lib.sh"
need docker-registry
need skopeo
need conmon
need runc
[ "$(id -u)" = 0 ] || { echo "bench: run as root (overlay stores, runc)" >&2; exit 1; }

WORK=$(mktemp -d "${SKIFF_BENCH_WORK:-/var/tmp}/skiff-bench-exec.XXXXXX")
REG_PID=
cleanup() {
  set +e
  if [ -n "${SKIFF_G:-}" ]; then
    for t in $TOOLS; do
      # shellcheck disable=SC2086
      $(g "$t") rm -f -t 0 bench-exec >/dev/null 2>&1
    done
  fi
  [ -n "$REG_PID" ] && kill "$REG_PID" 2>/dev/null && wait "$REG_PID" 2>/dev/null
  for m in $(awk -v w="$WORK/" 'index($5, w) == 1 { print $5 }' /proc/self/mountinfo | sort -r); do umount -l "$m" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

bench_container_setup || exit 1

for t in $TOOLS; do
  G=$(g "$t")
  # shellcheck disable=SC2086
  $G pull -q --tls-verify=false "$BENCH_IMG" >"$WORK/pull.$t" 2>&1 || { cat "$WORK/pull.$t" >&2; echo "bench: $t pull failed" >&2; exit 1; }
  # shellcheck disable=SC2086
  $G run -d --name bench-exec --network none "$BENCH_IMG" sh -c 'trap "exit 0" TERM; sleep 100000 & wait' >/dev/null || { echo "bench: $t run -d failed" >&2; exit 1; }
  # shellcheck disable=SC2086
  code=0
  out=$($G exec bench-exec sh -c 'echo ok; exit 3' 2>&1) || code=$?
  [ "$out" = ok ] && [ "$code" = 3 ] || { echo "bench: $t exec printed '$out' with status $code, expected 'ok' and 3" >&2; exit 1; }
  echo "$t: exec ok"
done
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"

for op in exec exec-i exec-d; do
  case $op in
    exec) flags= ;;
    exec-i) flags=-i ;;
    exec-d) flags=-d ;;
  esac
  set --
  for t in $TOOLS; do
    set -- "$@" "$t=$(g "$t") exec $flags bench-exec true"
  done
  bench_compare "$op" "$@" || exit 1
  have_podman && bench_ratio "$op" skiff podman
done

left=$(find "$WORK/skiff/run/containers" -path '*/exec/*' -maxdepth 3 2>/dev/null | wc -l)
echo "skiff exec session directories left (exec-d ones stay until the container stops): $left"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "hyperfine exports: $BENCH_OUT"
