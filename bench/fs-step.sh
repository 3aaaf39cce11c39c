#!/bin/sh
# Prepare steps for bench/cp.sh and bench/commit.sh, run by hyperfine
# outside the timing: `sh bench/fs-step.sh ACTION TOOL`.
#   prep-cp      a fresh created container bench-cp (the destination of the copy)
#   prep-commit  a fresh exited container bench-commit holding 50 MB of changes
#                (20 x 2 MB files, 1000 x 10 KB files, a deleted file, an opaque dir),
#                and no image bench-committed
set -u
action=$1
tool=$2
case $tool in
  skiff) G=$SKIFF_G ;;
  podman) G=$PODMAN_G ;;
  *) echo "fs-step: unknown tool $tool" >&2; exit 2 ;;
esac
IMG=$BENCH_IMG
# hyperfine hides a prepare step's stderr: keep it for the report.
exec 2>>"${BENCH_STEP_LOG:-/dev/null}"
for c in bench-cp bench-commit; do
  # shellcheck disable=SC2086
  $G rm -f -i "$c" >/dev/null || exit 1
done
case $action in
  prep-cp)
    # shellcheck disable=SC2086
    $G create --name bench-cp --network none "$IMG" true >/dev/null || exit 1
    ;;
  prep-commit)
    # shellcheck disable=SC2086
    $G rmi -f bench-committed >/dev/null 2>&1
    # shellcheck disable=SC2086
    $G run --name bench-commit --network none "$IMG" sh -c '
      mkdir -p /big /small && i=0
      while [ $i -lt 20 ]; do dd if=/dev/urandom of=/big/f$i bs=1M count=2 2>/dev/null; i=$((i+1)); done
      i=0; while [ $i -lt 1000 ]; do dd if=/dev/urandom of=/small/f$i bs=10k count=1 2>/dev/null; i=$((i+1)); done
      rm /bin/wc; rm -rf /usr; mkdir -p /usr/local' >/dev/null || exit 1
    ;;
  *) echo "fs-step: unknown action $action" >&2; exit 2 ;;
esac
