#!/bin/sh
# A/B timing of two builds of one command, runs interleaved (A, B, A, B ...),
# so a machine that gets busier or quieter mid-run weighs on both alike
# (hyperfine runs one command's batch after the other's).
#
#   sh bench/ab.sh N 'PREPARE' 'COMMAND A' 'COMMAND B'
#
# PREPARE runs before every run, untimed (e.g. a `create` before an `rm`).
# Prints the median, mean and fastest wall time of each, in ms.
set -eu
[ $# -eq 4 ] || { echo "usage: sh bench/ab.sh N 'PREPARE' 'COMMAND A' 'COMMAND B'" >&2; exit 2; }
n=$1 prep=$2 a=$3 b=$4
ta=$(mktemp) tb=$(mktemp)
trap 'rm -f "$ta" "$tb"' EXIT
i=0
while [ "$i" -lt "$n" ]; do
  for w in a b; do
    sh -c "$prep" >/dev/null 2>&1 || true
    if [ $w = a ]; then cmd=$a out=$ta; else cmd=$b out=$tb; fi
    s=$(date +%s%N)
    sh -c "$cmd" >/dev/null 2>&1 || true
    e=$(date +%s%N)
    echo $(( (e - s) / 1000 )) >>"$out"
  done
  i=$((i + 1))
done
for w in a b; do
  if [ $w = a ]; then f=$ta; else f=$tb; fi
  sort -n "$f" | awk -v w="$(echo $w | tr ab AB)" '{v[NR] = $1; s += $1} END {printf "%s: median %.1f ms  mean %.1f ms  fastest %.1f ms  (%d runs)\n", w, v[int((NR + 1) / 2)] / 1000, s / NR / 1000, v[1] / 1000, NR}'
done
