#!/bin/sh
# cp speed: `cp DIR CTR:/data` of a 100 MB directory (80 x 1 MB files and
# 2000 x 10 KB files in 20 subdirectories) into a created container, skiff
# vs podman side by side in one hyperfine run; every run gets a fresh
# container (a --prepare step, outside the timing).
#
#   npm run build && sh bench/cp.sh          (root)
#
# Knobs: RUNS (10), WARMUP (1), SKIFF, BENCH_OUT, SKIFF_BENCH_WORK (/var/tmp).
SKIFF_GIVEN=${SKIFF:-}
RUNS=${RUNS:-10}
WARMUP=${WARMUP:-1}
. "$(dirname "$0")/lib.sh"
. "$BENCH_DIR/fs-setup.sh"

SRC=$WORK/src
mkdir -p "$SRC"
i=0
while [ $i -lt 80 ]; do head -c 1048576 /dev/urandom >"$SRC/big$i"; i=$((i + 1)); done
d=0
while [ $d -lt 20 ]; do
  mkdir -p "$SRC/d$d"
  i=0
  while [ $i -lt 100 ]; do head -c 10240 /dev/urandom >"$SRC/d$d/f$i"; i=$((i + 1)); done
  d=$((d + 1))
done
echo "source: $(du -sm "$SRC" | cut -f1) MB in $(find "$SRC" -type f | wc -l) files"

STEP="$BENCH_DIR/fs-step.sh"
fs_compare cp "$RUNS" "$WARMUP" \
  "sh $STEP prep-cp skiff" "$SKIFF_G cp $SRC bench-cp:/data" \
  "sh $STEP prep-cp podman" "$PODMAN_G cp $SRC bench-cp:/data"

# The copies must be whole: same file count in both containers.
for t in $TOOLS; do
  if [ "$t" = skiff ]; then G=$SKIFF_G; else G=$PODMAN_G; fi
  # shellcheck disable=SC2086
  mp=$($G mount bench-cp)
  echo "$t: copied $(find "$mp/data" -type f | wc -l) files, $(du -sm "$mp/data" | cut -f1) MB"
  # shellcheck disable=SC2086
  $G umount bench-cp >/dev/null
done
