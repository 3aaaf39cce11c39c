#!/bin/sh
# Steps for bench/run.sh, run by hyperfine (as a measured command or as a
# --prepare command): `sh bench/run-step.sh ACTION TOOL [N]`, TOOL is skiff
# or podman. The tool's command line with its global flags comes from the
# environment (SKIFF_G / PODMAN_G, set by run.sh), the image from BENCH_IMG.
# Failures of parallel jobs are also appended to $BENCH_STEP_LOG (hyperfine
# does not show a command's stderr).
#
#   clean       remove every container of the tool's store
#   prep-start  clean, then create bench-start (a shell that exits on SIGTERM)
#   prep-stop   clean, then run -d bench-stop (the same shell), running
#   prep-rm     clean, then run bench-rm (`true`) to completion: an exited container
#   par-run N   N x `run --rm IMG true` at once; fails if any of them fails
#   par-crs N   N x (create IMG true; start; rm -f) at once; fails if any step fails
#   prep-par N  clean, then create N containers bench-net-0..N-1 on the
#               default network (the TERM-handling shell)  [bench/network.sh]
#   par-start N start the N created containers at once (N `start` processes);
#               fails if any of them fails                  [bench/network.sh]
set -u
action=$1
tool=$2
n=${3:-20}
case $tool in
  skiff) G=$SKIFF_G ;;
  podman) G=$PODMAN_G ;;
  *) echo "run-step: unknown tool $tool" >&2; exit 2 ;;
esac
IMG=$BENCH_IMG
# pid 1 of a container ignores SIGTERM unless it handles it: this shell exits
# at once on TERM (`wait` is interrupted by the trapped signal).
TERMSH='trap "exit 0" TERM; sleep 1000 & wait'

clean() {
  # shellcheck disable=SC2086
  ids=$($G ps -a -q) || exit 1
  # shellcheck disable=SC2086
  [ -z "$ids" ] || $G rm -f -t 0 $ids >/dev/null || exit 1
}

# wait_jobs LABEL ERRDIR PID...: wait for the background jobs started in
# order 0..n-1; a failed job's exit code and stderr ($ERRDIR/<i>) go to
# stderr and $BENCH_STEP_LOG (hyperfine hides a command's stderr). Fails if
# any job failed.
wait_jobs() {
  label=$1
  dir=$2
  shift 2
  failed=0
  i=0
  for p in "$@"; do
    rc=0
    wait "$p" || rc=$?
    if [ "$rc" != 0 ]; then
      failed=$((failed + 1))
      echo "run-step: $tool $label job $i: exit $rc: $(tr '\n' ' ' <"$dir/$i")" | tee -a "${BENCH_STEP_LOG:-/dev/null}" >&2
    fi
    i=$((i + 1))
  done
  rm -rf "$dir"
  [ "$failed" = 0 ] || { echo "run-step: $tool $label: $failed of $# failed" >&2; exit 1; }
}

case $action in
  clean) clean ;;
  prep-start)
    clean
    # shellcheck disable=SC2086
    $G create --name bench-start --network none "$IMG" sh -c "$TERMSH" >/dev/null
    ;;
  prep-stop)
    clean
    # shellcheck disable=SC2086
    $G run -d --name bench-stop --network none "$IMG" sh -c "$TERMSH" >/dev/null
    ;;
  prep-rm)
    clean
    # shellcheck disable=SC2086
    $G run --name bench-rm --network none "$IMG" true
    ;;
  par-run | par-crs)
    # Each job's stderr goes to its own file, shown (with its exit code) when it fails.
    errs=$(mktemp -d "${TMPDIR:-/tmp}/skiff-run-step.XXXXXX")
    i=0
    pids=
    while [ "$i" -lt "$n" ]; do
      if [ "$action" = par-run ]; then
        # shellcheck disable=SC2086
        $G run --rm --network none "$IMG" true 2>"$errs/$i" &
      else
        (
          # shellcheck disable=SC2086
          id=$($G create --network none "$IMG" true) || { echo "(create failed)" >&2; exit 1; }
          # shellcheck disable=SC2086
          $G start "$id" >/dev/null || { echo "(start $id failed)" >&2; exit 1; }
          # shellcheck disable=SC2086
          $G rm -f "$id" >/dev/null || { echo "(rm -f $id failed)" >&2; exit 1; }
        ) 2>"$errs/$i" &
      fi
      pids="$pids $!"
      i=$((i + 1))
    done
    # shellcheck disable=SC2086
    wait_jobs "$action" "$errs" $pids
    ;;
  prep-par)
    clean
    i=0
    while [ "$i" -lt "$n" ]; do
      # shellcheck disable=SC2086
      $G create --name "bench-net-$i" "$IMG" sh -c "$TERMSH" >/dev/null || exit 1
      i=$((i + 1))
    done
    ;;
  par-start)
    errs=$(mktemp -d "${TMPDIR:-/tmp}/skiff-run-step.XXXXXX")
    i=0
    pids=
    while [ "$i" -lt "$n" ]; do
      # shellcheck disable=SC2086
      $G start "bench-net-$i" >/dev/null 2>"$errs/$i" &
      pids="$pids $!"
      i=$((i + 1))
    done
    # shellcheck disable=SC2086
    wait_jobs start "$errs" $pids
    ;;
  *) echo "run-step: unknown action $action" >&2; exit 2 ;;
esac
