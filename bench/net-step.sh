#!/bin/sh
# Steps for bench/network.sh, run by hyperfine (measured or --prepare):
# `sh bench/net-step.sh ACTION TOOL [N]`; the tool's command line with its
# global flags comes from SKIFF_G / PODMAN_G, the image from BENCH_IMG.
#
#   clean       remove every container of the tool's store (rm -f -t 0)
#   prep-par N  clean, then create N containers bench-net-0..N-1 on the
#               default network (a shell that exits on SIGTERM)
#   par-start N start the N created containers at once (N `start` processes);
#               fails if any of them fails
set -u
action=$1
tool=$2
n=${3:-20}
case $tool in
  skiff) G=$SKIFF_G ;;
  podman) G=$PODMAN_G ;;
  *) echo "net-step: unknown tool $tool" >&2; exit 2 ;;
esac
TERMSH='trap "exit 0" TERM; sleep 1000 & wait'

clean() {
  # shellcheck disable=SC2086
  ids=$($G ps -a -q) || exit 1
  # shellcheck disable=SC2086
  [ -z "$ids" ] || $G rm -f -t 0 $ids >/dev/null || exit 1
}

case $action in
  clean) clean ;;
  prep-par)
    clean
    i=0
    while [ "$i" -lt "$n" ]; do
      # shellcheck disable=SC2086
      $G create --name "bench-net-$i" "$BENCH_IMG" sh -c "$TERMSH" >/dev/null || exit 1
      i=$((i + 1))
    done
    ;;
  par-start)
    errs=$(mktemp -d "${TMPDIR:-/tmp}/skiff-net-step.XXXXXX")
    i=0
    pids=
    while [ "$i" -lt "$n" ]; do
      # shellcheck disable=SC2086
      $G start "bench-net-$i" >/dev/null 2>"$errs/$i" &
      pids="$pids $!"
      i=$((i + 1))
    done
    failed=0
    i=0
    for p in $pids; do
      rc=0
      wait "$p" || rc=$?
      if [ "$rc" != 0 ]; then
        failed=$((failed + 1))
        echo "net-step: $tool start bench-net-$i: exit $rc: $(tr '\n' ' ' <"$errs/$i")" | tee -a "${BENCH_STEP_LOG:-/dev/null}" >&2
      fi
      i=$((i + 1))
    done
    rm -rf "$errs"
    [ "$failed" = 0 ] || { echo "net-step: $tool par-start: $failed of $n failed" >&2; exit 1; }
    ;;
  *) echo "net-step: unknown action $action" >&2; exit 2 ;;
esac
