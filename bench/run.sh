#!/bin/sh
# Container life-cycle speed: skiff vs podman, side by side in one hyperfine
# run per operation, on a one-layer busybox image (test/helpers/images.ts's
# buildBusybox, via bench/run-image.ts) pulled from a docker-registry on
# 127.0.0.1 into a temporary store per tool; --network none everywhere.
#
#   npm run build && sh bench/run.sh           (root: overlay, conmon, runc)
#
# Operations (targets from the issue, as skiff/podman median ratios):
#   run       run --rm IMG true                                   <= 0.6
#   create    create IMG true                                     <= 1.0
#   start     start of a created container                        <= 0.6
#   stop      stop -t 10 of a running container that exits on TERM <= 0.6
#   rm        rm of an exited container                           <= 1.0
#   par-run   PAR (20) x `run --rm IMG true` at once              <= 0.5
#   par-crs   PAR (20) x (create; start; rm -f) at once           <= 0.5
#   floor     the OCI runtime's own cost: `runc run` (create, start, wait,
#             delete in ONE runc process) of the bundle skiff writes for
#             `run --rm IMG true`, on a copy of its root filesystem, side by
#             side with skiff and podman's run: the least any runc-based
#             engine can take (both also start conmon, and call runc at
#             least twice), so runc/podman is the lowest reachable run ratio
#   start-floor `node -e 0` + `runc create` of the same bundle, in one
#             hyperfine run with both tools' start: the least a Node engine
#             on runc can take for `start`, printed against 0.6 x podman's
# Every per-run setup (removing the previous container, creating/starting
# the next one) is a hyperfine --prepare step (bench/run-step.sh), outside
# the timing. Then the memory that stays resident for one running `sleep`
# container: every process left behind by `run -d` (conmon; there must be no
# skiff process), RSS and PSS, without the container's own process.
#
# podman here: runtime runc (crun refuses this host's hybrid cgroup mount)
# and default_ulimits that this host allows (a private containers.conf via
# CONTAINERS_CONF): podman's defaults (nofile 1048576, nproc 4194304) fail
# with EPERM without CAP_SYS_RESOURCE. nofile = this shell's hard limit;
# nproc = min(hard limit, 32768), because podman lowers its own RLIMIT_NPROC
# (soft and hard) to 32768 at start-up, so runc cannot set more.
#
# Knobs: RUNS (30), WARMUP (5); PAR (20), PAR_RUNS (10), PAR_WARMUP (2);
# ONLY (space-separated subset of: run create start stop rm par-run par-crs
# mem floor start-floor); SKIFF (default: a private copy of bin/skiff + dist/ made at start, so
# that a concurrent `npm run build` cannot crash the runs), BENCH_OUT,
# SKIFF_BENCH_WORK (where the stores go; /var/tmp).
# Needs: hyperfine, python3, docker-registry, skopeo, conmon, runc, root;
# podman only as the reference.
SKIFF_GIVEN=${SKIFF:-}
. "$(dirname "$0")/lib.sh"
need docker-registry
need skopeo
need conmon
need runc
[ "$(id -u)" = 0 ] || { echo "bench: run as root (overlay stores, runc)" >&2; exit 1; }
PAR=${PAR:-20}
PAR_RUNS=${PAR_RUNS:-10}
PAR_WARMUP=${PAR_WARMUP:-2}
ONLY=${ONLY:-run create start stop rm par-run par-crs floor start-floor mem}
STEP="$BENCH_DIR/run-step.sh"

WORK=$(mktemp -d "${SKIFF_BENCH_WORK:-/var/tmp}/skiff-bench-run.XXXXXX")
REG_PID=
unmount_all() { # podman's overlay driver may leave its overlay/ dir bind-mounted onto itself
  for m in $(awk -v w="$WORK/" 'index($5, w) == 1 { print $5 }' /proc/self/mountinfo | sort -r); do umount -l "$m" 2>/dev/null || true; done
}
# Processes still running from this benchmark's stores (conmon, containers).
left_pids() {
  for d in /proc/[0-9]*; do
    { tr '\0' ' ' <"$d/cmdline"; } 2>/dev/null | grep -qF "$WORK/" && echo "${d#/proc/}"
  done
  return 0
}
cleanup() {
  set +e
  if [ -n "${SKIFF_G:-}" ]; then
    sh "$STEP" clean skiff 2>/dev/null
    have_podman && sh "$STEP" clean podman 2>/dev/null
  fi
  [ -n "$REG_PID" ] && kill "$REG_PID" 2>/dev/null && wait "$REG_PID" 2>/dev/null
  left=$(left_pids | grep -vx "$$")
  if [ -n "$left" ]; then
    echo "bench: WARNING: processes left after removing every container (killed): $left" >&2
    for p in $left; do kill -9 "$p" 2>/dev/null; done
  fi
  unmount_all
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# A private copy of the launcher and the build (without the 100 MB single
# binary), unless SKIFF is given: `npm run build` in this tree meanwhile (other
# work going on) overwrites dist/ in place and crashes skiff processes that
# are running (SIGBUS/SIGSEGV in node), including conmon's exit commands.
bench_container_setup || exit 1

# Pull into both stores, then check (outside any timing) that each tool can
# run the image and stop the TERM-handling shell quickly.
for t in $TOOLS; do
  G=$(g "$t")
  # shellcheck disable=SC2086
  $G pull -q --tls-verify=false "$BENCH_IMG" >"$WORK/pull.$t" 2>&1 || { cat "$WORK/pull.$t" >&2; echo "bench: $t pull failed" >&2; exit 1; }
  # shellcheck disable=SC2086
  out=$($G run --rm --network none "$BENCH_IMG" echo ok 2>&1) || { echo "$out" >&2; echo "bench: $t run failed" >&2; exit 1; }
  [ "$out" = ok ] || { echo "bench: $t run printed '$out', expected 'ok'" >&2; exit 1; }
  sh "$STEP" prep-stop "$t" || { echo "bench: $t run -d failed" >&2; exit 1; }
  t0=$(date +%s%N)
  # shellcheck disable=SC2086
  $G stop -t 10 bench-stop >/dev/null || { echo "bench: $t stop failed" >&2; exit 1; }
  ms=$((($(date +%s%N) - t0) / 1000000))
  # shellcheck disable=SC2086
  code=$($G inspect bench-stop --format '{{.State.ExitCode}}')
  echo "$t: pulled $(tail -n1 "$WORK/pull.$t" | cut -c1-19); run ok; stop of the TERM-handling shell: ${ms} ms, exit code $code"
  [ "$ms" -lt 5000 ] || echo "bench: WARNING: $t stop took ${ms} ms: did the TERM handler run?" >&2
  sh "$STEP" clean "$t"
done
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"

# compare NAME TARGET RUNS WARMUP SKIFF-PREP SKIFF-CMD PODMAN-PREP PODMAN-CMD
# (a PREP of "-" means none; hyperfine -N: commands are split on spaces).
FAILED=
compare() {
  name=$1 target=$2 runs=$3 warmup=$4
  case " $ONLY " in *" $name "*) ;; *) return 0 ;; esac
  set -- "$5" "$6" "$7" "$8"
  args=
  # Every command gets a --prepare (hyperfine: one for all or one per command).
  sp=$1 sc=$2 pp=$3 pc=$4
  [ "$sp" = - ] && sp=true
  [ "$pp" = - ] && pp=true
  if have_podman; then
    set -- --prepare "$sp" -n skiff "$sc" --prepare "$pp" -n podman "$pc"
  else
    set -- --prepare "$sp" -n skiff "$sc"
  fi
  : >"$BENCH_STEP_LOG"
  echo "== $name (runs $runs, warmup $warmup)"
  echo "   skiff:  $sc"
  have_podman && echo "   podman: $pc"
  if ! hyperfine -N --style basic --warmup "$warmup" --runs "$runs" --export-json "$BENCH_OUT/$name.json" "$@" >"$BENCH_OUT/$name.txt" 2>&1; then
    sed 's/^/   | /' "$BENCH_OUT/$name.txt" >&2
    [ -s "$BENCH_STEP_LOG" ] && sed 's/^/   | /' "$BENCH_STEP_LOG" >&2
    echo "bench: $name FAILED (hyperfine output above)" >&2
    FAILED="$FAILED $name"
  else
    bench_report "$name" "$target"
  fi
  # Nothing may be left behind: clean (after counting what is there) for the next benchmark.
  for t in $TOOLS; do
    G=$(g "$t")
    # shellcheck disable=SC2086
    n=$($G ps -a -q | wc -l)
    case $name in
      run | par-run | par-crs)
        if [ "$n" != 0 ]; then
          echo "bench: WARNING: $t: $n containers left after $name:" >&2
          # shellcheck disable=SC2086
          $G ps -a --format '{{.ID}} {{.Status}} {{.Command}}' | sed 's/^/   | /' >&2
        fi
        ;;
    esac
    sh "$STEP" clean "$t"
  done
}

PS=$STEP
compare run 0.6 "$RUNS" "$WARMUP" \
  - "$SKIFF_G run --rm --network none $BENCH_IMG true" \
  - "$PODMAN_G run --rm --network none $BENCH_IMG true"
compare create 1.0 "$RUNS" "$WARMUP" \
  "sh $PS clean skiff" "$SKIFF_G create --network none $BENCH_IMG true" \
  "sh $PS clean podman" "$PODMAN_G create --network none $BENCH_IMG true"
compare start 0.6 "$RUNS" "$WARMUP" \
  "sh $PS prep-start skiff" "$SKIFF_G start bench-start" \
  "sh $PS prep-start podman" "$PODMAN_G start bench-start"
compare stop 0.6 "$RUNS" "$WARMUP" \
  "sh $PS prep-stop skiff" "$SKIFF_G stop -t 10 bench-stop" \
  "sh $PS prep-stop podman" "$PODMAN_G stop -t 10 bench-stop"
compare rm 1.0 "$RUNS" "$WARMUP" \
  "sh $PS prep-rm skiff" "$SKIFF_G rm bench-rm" \
  "sh $PS prep-rm podman" "$PODMAN_G rm bench-rm"
compare par-run 0.5 "$PAR_RUNS" "$PAR_WARMUP" \
  - "sh $PS par-run skiff $PAR" \
  - "sh $PS par-run podman $PAR"
compare par-crs 0.5 "$PAR_RUNS" "$PAR_WARMUP" \
  "sh $PS clean skiff" "sh $PS par-crs skiff $PAR" \
  "sh $PS clean podman" "sh $PS par-crs podman $PAR"

# Machine CPU of one more round of each parallel row, per tool (/proc/stat:
# busy and idle time of all CPUs; hyperfine's user/sys miss conmon, the
# runtime and the exit commands, which are not its children's children).
# With the machine saturated (idle near 0) the wall time is the CPU time
# divided by the cores: only less CPU per container makes the row faster.
cpu_ticks() { # busy and idle ticks of all CPUs so far
  awk '/^cpu /{print $2+$3+$4+$7+$8, $5+$6}' /proc/stat
}
par_cpu() { # ROW
  row=$1
  case " $ONLY " in *" $row "*) ;; *) return 0 ;; esac
  hz=$(getconf CLK_TCK)
  for t in $TOOLS; do
    sh "$STEP" clean "$t"
    s0=$(cpu_ticks)
    t0=$(date +%s%N)
    sh "$STEP" "$row" "$t" "$PAR" || { FAILED="$FAILED $row-cpu"; continue; }
    t1=$(date +%s%N)
    s1=$(cpu_ticks)
    # shellcheck disable=SC2086
    set -- $s0 $s1
    echo "cpu $row $t: $(((${3} - ${1}) * 1000 / hz)) ms busy, $(((${4} - ${2}) * 1000 / hz)) ms idle over $(((t1 - t0) / 1000000)) ms wall on $(nproc) CPUs ($(((${3} - ${1}) * 1000 / hz / PAR)) ms of CPU per container)"
    sh "$STEP" clean "$t"
  done
}
par_cpu par-run
par_cpu par-crs

# The runtime's floor: skiff's bundle for `run --rm IMG true` (taken from a
# running container of the same image, its /etc bind mounts from skiff's
# store dropped), on a copied root filesystem, run by `runc run`.
floor_bundle() {
  F=$WORK/floor
  [ -f "$F/bundle/config.json" ] && return 0
  mkdir -p "$F/bundle/rootfs" "$F/runc"
  # shellcheck disable=SC2086
  id=$($SKIFF_G run -d --name bench-floor --network none "$BENCH_IMG" sleep 1000) || return 1
  b=$WORK/skiff/run/containers/$id
  cp -a "$b/rootfs/." "$F/bundle/rootfs/" || return 1
  python3 - "$b/config.json" "$F/bundle/config.json" "$WORK" <<'PY' || return 1
import json, sys
src, dst, work = sys.argv[1:4]
c = json.load(open(src))
c["root"] = {"path": "rootfs", "readonly": False}
c["process"]["terminal"] = False
c["process"]["args"] = ["true"]
c["mounts"] = [m for m in c["mounts"] if not m.get("source", "").startswith(work)]
c["linux"]["cgroupsPath"] = "/skiff-bench-floor"
c.get("annotations", {}).clear()
json.dump(c, open(dst, "w"))
PY
  sh "$STEP" clean skiff
  printf '#!/bin/sh\nrunc --root "%s" delete -f bench-floor >/dev/null 2>&1\nexit 0\n' "$F/runc" >"$F/reset.sh"
}
floor() {
  floor_bundle || return 1
  # shellcheck disable=SC2086
  set -- "skiff=$SKIFF_G run --rm --network none $BENCH_IMG true" "runc=runc --root $F/runc run --bundle $F/bundle bench-floor"
  # shellcheck disable=SC2086
  have_podman && set -- "$@" "podman=$PODMAN_G run --rm --network none $BENCH_IMG true"
  bench_compare floor "$@" </dev/null
  have_podman && bench_ratio floor runc podman
  bench_ratio floor skiff runc
  have_podman && bench_ratio floor skiff podman
  sh "$F/reset.sh"
}
# The floor under `start` for any engine that is a Node program driving runc:
# `node -e 0` (Node's own start, before any of skiff's code) plus `runc
# create` of the same bundle (the runtime's part of every start, conmon not
# counted), in the same hyperfine run as both tools' `start`. When that sum
# is above 0.6 x podman's start, the start target cannot be met on this
# machine by any change to skiff's own code.
start_floor() {
  floor_bundle || return 1
  node=$(command -v node)
  set -- --prepare "sh $STEP prep-start skiff" -n skiff "$SKIFF_G start bench-start" \
    --prepare "sh $F/reset.sh" -n runc-create "runc --root $F/runc create --bundle $F/bundle bench-floor" \
    --prepare true -n node "$node -e 0"
  have_podman && set -- "$@" --prepare "sh $STEP prep-start podman" -n podman "$PODMAN_G start bench-start"
  : >"$BENCH_STEP_LOG"
  echo "== start-floor (runs $RUNS, warmup $WARMUP)"
  if ! hyperfine -N --style basic --warmup "$WARMUP" --runs "$RUNS" --export-json "$BENCH_OUT/start-floor.json" "$@" >"$BENCH_OUT/start-floor.txt" 2>&1; then
    sed 's/^/   | /' "$BENCH_OUT/start-floor.txt" >&2
    [ -s "$BENCH_STEP_LOG" ] && sed 's/^/   | /' "$BENCH_STEP_LOG" >&2
    return 1
  fi
  python3 - "$BENCH_OUT/start-floor.json" <<'PY'
import json, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
med = {k: r["median"] * 1000 for k, r in res.items()}
cpu = {k: (r["user"] + r["system"]) * 1000 for k, r in res.items()}
for k in ("skiff", "podman", "runc-create", "node"):
    if k in med:
        print(f"median {k:<12} = {med[k]:6.1f} ms   (user+sys {cpu[k]:.1f} ms, min {res[k]['min'] * 1000:.1f})")
floor = med["runc-create"] + med["node"]
print(f"start floor = node -e 0 + runc create = {floor:.1f} ms")
if "podman" in med:
    print(f"start floor / podman start = {floor / med['podman']:.2f}   (target for skiff: <= 0.6 = {0.6 * med['podman']:.1f} ms; skiff/podman = {med['skiff'] / med['podman']:.2f})")
PY
  sh "$F/reset.sh"
  for t in $TOOLS; do sh "$STEP" clean "$t"; done
}
case " $ONLY " in *" floor "*) floor || { echo "bench: floor FAILED" >&2; FAILED="$FAILED floor"; } ;; esac
case " $ONLY " in *" start-floor "*) start_floor || { echo "bench: start-floor FAILED" >&2; FAILED="$FAILED start-floor"; } ;; esac
[ -n "${F:-}" ] && rm -rf "$F"

# Memory: what stays resident for one running container. Every process that
# appears during `run -d ... sleep 1000` and is still there 2 s later, kept if
# its command line names this benchmark's work dir (conmon, a lingering skiff
# or podman process) or if it descends from one (the container's process,
# reported apart: the same for both tools).
mem() { # TOOL
  G=$(g "$1")
  ls /proc | grep -E '^[0-9]+$' >"$WORK/pids.before"
  # shellcheck disable=SC2086
  $G run -d --name bench-mem --network none "$BENCH_IMG" sleep 1000 >/dev/null || { echo "bench: $1 run -d failed" >&2; return 1; }
  sleep 2
  python3 - "$1" "$WORK" "$WORK/pids.before" "$BENCH_OUT/mem.$1" <<'PY'
import json, os, sys
tool, work, before_file, out = sys.argv[1:5]
before = set(open(before_file).read().split())
def read(p, f):
    try:
        with open(f"/proc/{p}/{f}", "rb") as fh:
            return fh.read().decode(errors="replace")
    except OSError:
        return None
procs = {}
for p in os.listdir("/proc"):
    if not p.isdigit() or p in before or int(p) == os.getpid():
        continue
    cmd, status, rollup = read(p, "cmdline"), read(p, "status"), read(p, "smaps_rollup")
    if cmd is None or status is None:
        continue
    st = dict(l.split(":", 1) for l in status.splitlines() if ":" in l)
    pss = 0
    for l in (rollup or "").splitlines():
        if l.startswith("Pss:"):
            pss = int(l.split()[1])
    procs[p] = {"pid": int(p), "ppid": st["PPid"].strip(), "comm": st["Name"].strip(), "cmd": cmd.replace("\0", " ").strip(),
                "rss": int(st.get("VmRSS", "0 kB").split()[0]), "pss": pss}
ours = {p for p, r in procs.items() if work + "/" in r["cmd"]}
payload = set()
changed = True
while changed:
    changed = False
    for p, r in procs.items():
        if p not in ours and p not in payload and (r["ppid"] in ours or r["ppid"] in payload):
            payload.add(p)
            changed = True
ours -= payload
rows = [dict(procs[p], role="resident") for p in sorted(ours, key=int)] + [dict(procs[p], role="container") for p in sorted(payload, key=int)]
json.dump(rows, open(out, "w"))
for r in rows:
    print(f"   {tool}: {r['role']:<9} pid {r['pid']:<7} {r['comm']:<10} rss {r['rss'] / 1024:5.1f} MB  pss {r['pss'] / 1024:5.1f} MB  {r['cmd'][:90]}")
PY
  # sleep as pid 1 ignores SIGTERM: kill it rather than wait out rm -f's 10 s.
  # shellcheck disable=SC2086
  $G kill bench-mem >/dev/null 2>&1
  sh "$STEP" clean "$1"
}
case " $ONLY " in
  *" mem "*)
    echo "== memory per running container (run -d ... sleep 1000)"
    for t in $TOOLS; do mem "$t" || FAILED="$FAILED mem-$t"; done
    python3 - "$BENCH_OUT" <<'PY'
import json, os, sys
out = sys.argv[1]
tot = {}
for tool in ("skiff", "podman"):
    f = os.path.join(out, "mem." + tool)
    if not os.path.exists(f):
        continue
    rows = json.load(open(f))
    res = [r for r in rows if r["role"] == "resident"]
    cont = [r for r in rows if r["role"] == "container"]
    rss, pss = sum(r["rss"] for r in res) / 1024, sum(r["pss"] for r in res) / 1024
    tot[tool] = (rss, pss)
    names = ", ".join(sorted({r["comm"] for r in res})) or "nothing"
    print(f"rss {tool:<8} = {rss:5.1f} MB   (pss {pss:.1f} MB; resident: {names}; {len(res)} process(es); container's own: {sum(r['rss'] for r in cont) / 1024:.1f} MB rss)")
    extra = [r for r in res if r["comm"] != "conmon"]
    if extra:
        print(f"bench: NOTE: {tool} leaves more than conmon resident: " + "; ".join(f"{r['comm']} (pid {r['pid']}, {r['rss'] / 1024:.1f} MB)" for r in extra))
if len(tot) == 2:
    print(f"rss ratio skiff/podman = {tot['skiff'][0] / tot['podman'][0]:.2f}   (pss ratio {tot['skiff'][1] / tot['podman'][1]:.2f})")
PY
    ;;
esac

echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "hyperfine exports: $BENCH_OUT"
[ -z "$FAILED" ] || { echo "bench: failed:$FAILED" >&2; exit 1; }
