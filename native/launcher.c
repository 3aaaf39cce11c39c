/*
 * dist/skiff-launch: bin/skiff's decisions without a shell.
 *
 * bin/skiff (POSIX sh) costs ~5-7 ms before Node starts: dash itself, a
 * `stat` process for the snapshot check, and for rootless an `nsenter`
 * process. Scripts run skiff thousands of times, and `skiff version`/`ps`
 * are measured against `node -e 0`, so the installed `skiff` is this small
 * program instead; bin/skiff stays the development path and the fallback
 * where no C compiler was found at build time. Both make the same choices,
 * and test/integration/startup.test.ts runs its launcher tests on both:
 *
 *   - Node: the first `node` on PATH (as the shell's PATH search).
 *   - Entry: the light one, dist/skiff-lite.js, for the command words
 *     version, ps, container ls|list|ps after the global flags (bin/skiff's
 *     lite_command), unless SKIFF_NO_LITE is set; else dist/skiff.js.
 *   - Light entry: `node dist/skiff-lite-load.js ARGS` (it starts the bundle
 *     from its V8 code cache, dist/skiff-lite.cache, and checks that cache
 *     itself) when that loader exists and SKIFF_NO_SNAPSHOT is not set; else
 *     the plain bundle.
 *   - Full entry: its snapshot dist/skiff.blob when dist/skiff.blob.stamp's
 *     first line is "dev ino size mtime" of that node, then the sizes of the
 *     blob and the bundle (scripts/build.mjs writes it with
 *     `stat -L -c '%d %i %s %Y'`), and none of SKIFF_NO_SNAPSHOT NODE_DEBUG
 *     CLI_FLAGS_DEBUG TINYGLOBBY_DEBUG OCLIF_COLUMNS is set; else the plain
 *     bundle. With the snapshot, unless GLIBC_TUNABLES is set (even to
 *     empty), GLIBC_TUNABLES=SNAPSHOT_TUNABLES and SKIFF_UNSET_GLIBC_TUNABLES=1
 *     (skiff removes both from its environment as it starts).
 *   - NODE_EXTRA_CA_CERTS moves to SKIFF_EXTRA_CA_CERTS (Node would parse it
 *     at every start; skiff adds the CAs to its registry connections).
 *   - Rootless: when the user's pause process is alive (runtime dir owned by
 *     the user, pause.pid naming a live, non-zombie process of the user with
 *     the recorded start time), join its user and mount namespaces with
 *     setns(2) (what `nsenter --user --mount --preserve-credentials` does),
 *     go back to the working directory's path, and set SKIFF_ROOTLESS_UID,
 *     SKIFF_ROOTLESS_GID, SKIFF_PAUSE. Anything unusual: leave it to Node.
 *   - SKIFF_LAUNCHER_DEBUG: the same lines on stderr as bin/skiff.
 *
 * Written by hand: a launcher must start in well under a millisecond, which
 * rules out every scripting runtime, and it is ~250 lines of libc calls.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int debug;

/* The full entry's malloc settings (bin/skiff's snapshot_tunables, the same text). */
#define SNAPSHOT_TUNABLES "glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=8388608"

static int set(const char *name) {
  const char *v = getenv(name);
  return v && *v;
}

/* dist/: the directory of this executable, symlinks resolved. */
static int dist_dir(char *out, size_t n) {
  char buf[PATH_MAX];
  ssize_t len = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (len <= 0) return -1;
  buf[len] = 0;
  char *slash = strrchr(buf, '/');
  if (!slash) return -1;
  *slash = 0;
  if (snprintf(out, n, "%s", buf[0] ? buf : "/") >= (int)n) return -1;
  return 0;
}

/* The first regular, executable `node` on PATH (an empty entry is "."). */
static int find_node(char *out, size_t n) {
  const char *path = getenv("PATH");
  if (!path) return -1;
  const char *p = path;
  for (;;) {
    const char *end = strchr(p, ':');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    int w = len ? snprintf(out, n, "%.*s/node", (int)len, p) : snprintf(out, n, "./node");
    struct stat st;
    if (w > 0 && (size_t)w < n && stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0) return 0;
    if (!end) return -1;
    p = end + 1;
  }
}

/* bin/skiff's lite_command: the command word after the global flags. */
static int lite_command(int argc, char **argv) {
  int skip = 0, ctr = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (skip) {
      skip = 0;
      continue;
    }
    if (ctr) return !strcmp(a, "ls") || !strcmp(a, "list") || !strcmp(a, "ps");
    if (!strcmp(a, "--root") || !strcmp(a, "--runroot") || !strcmp(a, "--log-level") || !strcmp(a, "--storage-driver")) {
      skip = 1;
    } else if (!strncmp(a, "--root=", 7) || !strncmp(a, "--runroot=", 10) || !strncmp(a, "--log-level=", 12) || !strncmp(a, "--storage-driver=", 17)) {
      /* a global flag with its value */
    } else if (!strcmp(a, "version") || !strcmp(a, "ps") || !strcmp(a, "container:ls") || !strcmp(a, "container:list") || !strcmp(a, "container:ps")) {
      return 1;
    } else if (!strcmp(a, "container")) {
      ctr = 1;
    } else {
      return 0;
    }
  }
  return 0;
}

static int exists(const char *f) {
  struct stat st;
  return stat(f, &st) == 0;
}

/* Does dist/ENTRY.blob.stamp match this node, the blob and the bundle? */
static int snapshot_ok(const char *node, const char *blob, const char *js) {
  if (set("SKIFF_NO_SNAPSHOT") || set("NODE_DEBUG") || set("CLI_FLAGS_DEBUG") || set("TINYGLOBBY_DEBUG") || set("OCLIF_COLUMNS")) return 0;
  char stamp[PATH_MAX + 8];
  if (snprintf(stamp, sizeof stamp, "%s.stamp", blob) >= (int)sizeof stamp) return 0;
  FILE *f = fopen(stamp, "re");
  if (!f) return 0;
  char want[512];
  int got = fgets(want, sizeof want, f) != NULL;
  fclose(f);
  if (!got) return 0;
  want[strcspn(want, "\n")] = 0;
  struct stat n, b, j;
  if (stat(node, &n) || stat(blob, &b) || stat(js, &j)) return 0;
  char have[512];
  snprintf(have, sizeof have, "%lu %lu %lld %lld %lld %lld", (unsigned long)n.st_dev, (unsigned long)n.st_ino, (long long)n.st_size, (long long)n.st_mtim.tv_sec, (long long)b.st_size, (long long)j.st_size);
  return strcmp(want, have) == 0;
}

/* [ -O path ]: the file exists and belongs to uid. */
static int owned_by(const char *path, uid_t uid) {
  struct stat st;
  return stat(path, &st) == 0 && st.st_uid == uid;
}

/* /proc/PID/stat: not a zombie (or dead), and field 22 (start time) is START. */
static int pause_ok(long pid, const char *start) {
  char file[64], buf[1024];
  snprintf(file, sizeof file, "/proc/%ld/stat", pid);
  int fd = open(file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t len = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (len <= 0) return 0;
  buf[len] = 0;
  char *p = strrchr(buf, ')');
  if (!p) return 0;
  p++;
  /* After "comm)": field 3 (state) is the first word, field 22 the 20th. */
  char *save = NULL;
  char *tok = strtok_r(p, " \n", &save);
  if (!tok || !strcmp(tok, "Z") || !strcmp(tok, "X")) return 0;
  for (int field = 4; field <= 22; field++) {
    tok = strtok_r(NULL, " \n", &save);
    if (!tok) return 0;
  }
  return strcmp(tok, start) == 0;
}

/*
 * Rootless fast path. Returns 1 after joining, 0 when Node should do it.
 * Exits 125 when joining started but failed half-way.
 */
static int join_userns(void) {
  if (set("SKIFF_ROOTLESS_UID") || set("SKIFF_NO_USERNS_FASTPATH")) return 0;
  uid_t uid = getuid();
  gid_t gid = getgid();
  if (uid == 0) return 0;
  char rundir[PATH_MAX], pidfile[PATH_MAX + 16];
  const char *xdg = getenv("XDG_RUNTIME_DIR");
  if (xdg && xdg[0] == '/') snprintf(rundir, sizeof rundir, "%s/skiff", xdg);
  else snprintf(rundir, sizeof rundir, "/tmp/skiff-run-%u", (unsigned)uid);
  /* [ -O dir ]: owned by the effective uid */
  if (!owned_by(rundir, geteuid())) return 0;
  snprintf(pidfile, sizeof pidfile, "%s/pause.pid", rundir);
  FILE *f = fopen(pidfile, "re");
  if (!f) return 0;
  long pid = 0;
  char start[32] = "";
  int n = fscanf(f, "%ld %31s", &pid, start);
  fclose(f);
  if (n != 2 || pid <= 0) return 0;
  char proc[64];
  snprintf(proc, sizeof proc, "/proc/%ld", pid);
  if (!owned_by(proc, geteuid()) || !pause_ok(pid, start)) return 0;

  char userns[96], mntns[96];
  snprintf(userns, sizeof userns, "/proc/%ld/ns/user", pid);
  snprintf(mntns, sizeof mntns, "/proc/%ld/ns/mnt", pid);
  int ufd = open(userns, O_RDONLY | O_CLOEXEC);
  int mfd = open(mntns, O_RDONLY | O_CLOEXEC);
  if (ufd < 0 || mfd < 0) {
    if (ufd >= 0) close(ufd);
    if (mfd >= 0) close(mfd);
    return 0;
  }
  char cwd[PATH_MAX];
  int have_cwd = getcwd(cwd, sizeof cwd) != NULL;
  if (debug) fprintf(stderr, "skiff-launcher: joining the user namespace of pause process %ld\n", pid);
  if (setns(ufd, CLONE_NEWUSER) || setns(mfd, CLONE_NEWNS)) {
    fprintf(stderr, "Error: joining the user namespace of pause process %ld: %s\n", pid, strerror(errno));
    exit(125);
  }
  close(ufd);
  close(mfd);
  /* Entering a mount namespace moves the working directory to its root: go
     back (as nsenter --wdns; failing like it when the directory is not there). */
  if (have_cwd && chdir(cwd)) {
    fprintf(stderr, "Error: working directory %s in the user namespace of pause process %ld: %s\n", cwd, pid, strerror(errno));
    exit(125);
  }
  char v[32];
  snprintf(v, sizeof v, "%u", (unsigned)uid);
  setenv("SKIFF_ROOTLESS_UID", v, 1);
  snprintf(v, sizeof v, "%u", (unsigned)gid);
  setenv("SKIFF_ROOTLESS_GID", v, 1);
  char pause[64];
  snprintf(pause, sizeof pause, "%ld:%s", pid, start);
  setenv("SKIFF_PAUSE", pause, 1);
  return 1;
}

int main(int argc, char **argv) {
  debug = set("SKIFF_LAUNCHER_DEBUG");
  char dist[PATH_MAX], node[PATH_MAX];
  if (dist_dir(dist, sizeof dist)) {
    fprintf(stderr, "skiff: cannot find the launcher's own directory\n");
    return 125;
  }
  if (find_node(node, sizeof node)) {
    fprintf(stderr, "skiff: node not found in PATH\n");
    return 127;
  }
  const char *entry = "skiff";
  char js[PATH_MAX + 32], blob[PATH_MAX + 32], loader[PATH_MAX + 32];
  snprintf(js, sizeof js, "%s/skiff-lite.js", dist);
  if (!set("SKIFF_NO_LITE") && exists(js) && lite_command(argc, argv)) entry = "skiff-lite";
  snprintf(js, sizeof js, "%s/%s.js", dist, entry);
  snprintf(blob, sizeof blob, "%s/%s.blob", dist, entry);
  snprintf(loader, sizeof loader, "%s/skiff-lite-load.js", dist);
  int lite = !strcmp(entry, "skiff-lite");

  const char *ca = getenv("NODE_EXTRA_CA_CERTS");
  if (ca && *ca) {
    setenv("SKIFF_EXTRA_CA_CERTS", ca, 1);
    unsetenv("NODE_EXTRA_CA_CERTS");
  }
  join_userns();

  char **args = calloc((size_t)argc + 6, sizeof *args);
  if (!args) return 125;
  int n = 0;
  args[n++] = node;
  if (lite && !set("SKIFF_NO_SNAPSHOT") && exists(loader)) {
    if (debug) fprintf(stderr, "skiff-launcher: code cache %s\n", loader);
    snprintf(js, sizeof js, "%s", loader);
  } else if (!lite && snapshot_ok(node, blob, js)) {
    if (debug) fprintf(stderr, "skiff-launcher: snapshot %s\n", blob);
    /* Node copies the blob through freshly malloc'ed memory before V8
       reads it: ~2,000 page faults, 5-7 ms on this VM. With these glibc
       tunables that memory comes from the brk heap in transparent huge
       pages. Not when the user set GLIBC_TUNABLES (even to empty): skiff
       takes both variables out of its environment as it starts
       (src/cli/main.ts), so conmon, the runtime and hooks never see them. */
    if (!getenv("GLIBC_TUNABLES")) {
      setenv("GLIBC_TUNABLES", SNAPSHOT_TUNABLES, 1);
      setenv("SKIFF_UNSET_GLIBC_TUNABLES", "1", 1);
      if (debug) fprintf(stderr, "skiff-launcher: glibc tunables %s\n", SNAPSHOT_TUNABLES);
    }
    args[n++] = "--snapshot-blob";
    args[n++] = blob;
    args[n++] = "--";
  } else if (debug) {
    fprintf(stderr, "skiff-launcher: bundle %s\n", js);
  }
  args[n++] = js;
  for (int i = 1; i < argc; i++) args[n++] = argv[i];
  args[n] = NULL;
  execv(node, args);
  fprintf(stderr, "skiff: %s: %s\n", node, strerror(errno));
  return 127;
}
