#!/bin/sh
# commit speed: `commit -q CTR IMAGE` of an exited container with 50 MB of
# changes (20 x 2 MB and 1000 x 10 KB new files, a deleted file, an opaque
# directory), skiff vs podman side by side in one hyperfine run; every run
# gets a fresh container (a --prepare step, outside the timing). Afterwards
# each tool runs its committed image to check the changes are there.
#
#   npm run build && sh bench/commit.sh      (root)
#
# Knobs: RUNS (10), WARMUP (1), SKIFF, BENCH_OUT, SKIFF_BENCH_WORK (/var/tmp).
SKIFF_GIVEN=${SKIFF:-}
RUNS=${RUNS:-10}
WARMUP=${WARMUP:-1}
. "$(dirname "$0")/lib.sh"
. "$BENCH_DIR/fs-setup.sh"

STEP="$BENCH_DIR/fs-step.sh"
fs_compare commit "$RUNS" "$WARMUP" \
  "sh $STEP prep-commit skiff" "$SKIFF_G commit -q bench-commit bench-committed" \
  "sh $STEP prep-commit podman" "$PODMAN_G commit -q bench-commit bench-committed"

for t in $TOOLS; do
  if [ "$t" = skiff ]; then G=$SKIFF_G; else G=$PODMAN_G; fi
  # shellcheck disable=SC2086
  out=$($G run --rm --network none bench-committed sh -c 'ls /big | wc -l; ls /small | wc -l; ls /bin/wc 2>/dev/null || echo no-wc; ls /usr')
  echo "$t: committed image shows: $(echo "$out" | tr '\n' ' ')"
done
