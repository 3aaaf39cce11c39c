/*
 * skiff_native: the few system calls Node has no binding for.
 *
 * Every function returns 0 (or a value) on success and -errno on failure;
 * the JavaScript wrapper (src/lib/util/native.ts) turns a negative result
 * into a Node-style error with .code, .errno and .syscall. Nothing here
 * keeps state or touches threads, except the layer writer's file queue
 * (writeFileQueued / fileQueueDrain below): one worker thread that finishes
 * already-opened files; and the pull path's gunzip (gzOpen...): a thread
 * per gzip layer that inflates and hashes it.
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <linux/sockios.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <stdint.h>
#include <limits.h>
#include <time.h>
#include <signal.h>
#include <sys/wait.h>
#include <pthread.h>
#include <stdbool.h>

#define MAX_PATH 8192
#define CHECK(call) do { if ((call) != napi_ok) { napi_throw_error(env, NULL, "skiff_native: bad arguments"); return NULL; } } while (0)

static napi_value make_int(napi_env env, int64_t v) {
  napi_value out;
  napi_create_int64(env, v, &out);
  return out;
}

/* Reads a string argument into a malloc'd buffer; caller frees. NULL on error (exception set). */
static char *get_string(napi_env env, napi_value v) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok || len > MAX_PATH) {
    napi_throw_type_error(env, NULL, "skiff_native: expected a string");
    return NULL;
  }
  char *buf = malloc(len + 1);
  if (!buf) { napi_throw_error(env, NULL, "skiff_native: out of memory"); return NULL; }
  napi_get_value_string_utf8(env, v, buf, len + 1, &len);
  return buf;
}

static int get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) {
    napi_throw_type_error(env, NULL, "skiff_native: too few arguments");
    return -1;
  }
  return 0;
}

/* mknod(path, mode, major, minor) */
static napi_value js_mknod(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (get_args(env, info, 4, argv)) return NULL;
  uint32_t mode, maj, min;
  CHECK(napi_get_value_uint32(env, argv[1], &mode));
  CHECK(napi_get_value_uint32(env, argv[2], &maj));
  CHECK(napi_get_value_uint32(env, argv[3], &min));
  char *path = get_string(env, argv[0]);
  if (!path) return NULL;
  int r = mknod(path, (mode_t)mode, makedev(maj, min));
  int e = errno;
  free(path);
  return make_int(env, r == 0 ? 0 : -e);
}

/* lsetxattr(path, name, buffer) */
static napi_value js_lsetxattr(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (get_args(env, info, 3, argv)) return NULL;
  void *data; size_t len;
  CHECK(napi_get_buffer_info(env, argv[2], &data, &len));
  char *path = get_string(env, argv[0]);
  if (!path) return NULL;
  char *name = get_string(env, argv[1]);
  if (!name) { free(path); return NULL; }
  int r = lsetxattr(path, name, data, len, 0);
  int e = errno;
  free(path); free(name);
  return make_int(env, r == 0 ? 0 : -e);
}

/* lgetxattr(path, name) -> Buffer | -errno */
static napi_value js_lgetxattr(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (get_args(env, info, 2, argv)) return NULL;
  char *path = get_string(env, argv[0]);
  if (!path) return NULL;
  char *name = get_string(env, argv[1]);
  if (!name) { free(path); return NULL; }
  ssize_t n = lgetxattr(path, name, NULL, 0);
  napi_value out = NULL;
  if (n < 0) {
    out = make_int(env, -errno);
  } else {
    char *buf = malloc(n > 0 ? (size_t)n : 1);
    ssize_t m = buf ? lgetxattr(path, name, buf, (size_t)n) : -1;
    if (m < 0) out = make_int(env, buf ? -errno : -ENOMEM);
    else { void *dst; napi_create_buffer_copy(env, (size_t)m, buf, &dst, &out); }
    free(buf);
  }
  free(path); free(name);
  return out;
}

/* llistxattr(path) -> Buffer (NUL-separated names) | -errno */
static napi_value js_llistxattr(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (get_args(env, info, 1, argv)) return NULL;
  char *path = get_string(env, argv[0]);
  if (!path) return NULL;
  ssize_t n = llistxattr(path, NULL, 0);
  napi_value out = NULL;
  if (n < 0) {
    out = make_int(env, -errno);
  } else {
    char *buf = malloc(n > 0 ? (size_t)n : 1);
    ssize_t m = buf ? llistxattr(path, buf, (size_t)n) : -1;
    if (m < 0) out = make_int(env, buf ? -errno : -ENOMEM);
    else { void *dst; napi_create_buffer_copy(env, (size_t)m, buf, &dst, &out); }
    free(buf);
  }
  free(path);
  return out;
}

/* mount(source, target, fstype, flags, data) */
static napi_value js_mount(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (get_args(env, info, 5, argv)) return NULL;
  int64_t flags;
  CHECK(napi_get_value_int64(env, argv[3], &flags));
  char *src = get_string(env, argv[0]);
  char *tgt = src ? get_string(env, argv[1]) : NULL;
  char *fst = tgt ? get_string(env, argv[2]) : NULL;
  char *data = fst ? get_string(env, argv[4]) : NULL;
  napi_value out = NULL;
  if (data) {
    int r = mount(src, tgt, fst[0] ? fst : NULL, (unsigned long)flags, data[0] ? data : NULL);
    out = make_int(env, r == 0 ? 0 : -errno);
  }
  free(src); free(tgt); free(fst); free(data);
  return out;
}

/* umount2(target, flags) */
static napi_value js_umount2(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (get_args(env, info, 2, argv)) return NULL;
  int32_t flags;
  CHECK(napi_get_value_int32(env, argv[1], &flags));
  char *tgt = get_string(env, argv[0]);
  if (!tgt) return NULL;
  int r = umount2(tgt, flags);
  int e = errno;
  free(tgt);
  return make_int(env, r == 0 ? 0 : -e);
}

/* flock(fd, operation): LOCK_SH=1, LOCK_EX=2, LOCK_NB=4, LOCK_UN=8 */
static napi_value js_flock(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (get_args(env, info, 2, argv)) return NULL;
  int32_t fd, op;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  CHECK(napi_get_value_int32(env, argv[1], &op));
  int r;
  do { r = flock(fd, op); } while (r != 0 && errno == EINTR && !(op & LOCK_NB));
  return make_int(env, r == 0 ? 0 : -errno);
}

/*
 * unix_seqpacket_connect(path) -> fd | -errno
 *
 * Connects an AF_UNIX SOCK_SEQPACKET socket (conmon's attach socket) and
 * returns the blocking, close-on-exec fd. sun_path holds only 108 bytes, so
 * the socket's directory is opened with O_PATH and the address is spelled
 * /proc/self/fd/N/NAME, which works for any directory length. Only the final
 * name must fit.
 */
static napi_value js_unix_seqpacket_connect(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (get_args(env, info, 1, argv)) return NULL;
  char *path = get_string(env, argv[0]);
  if (!path) return NULL;
  int rc = 0, dirfd = -1, fd = -1;
  char *slash = strrchr(path, '/');
  const char *name = path;
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof(addr));
  addr.sun_family = AF_UNIX;
  if (slash) {
    name = slash + 1;
    if (slash == path) dirfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    else {
      *slash = '\0';
      dirfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
      *slash = '/';
    }
    if (dirfd < 0) { rc = -errno; goto out; }
  }
  int n = slash ? snprintf(addr.sun_path, sizeof(addr.sun_path), "/proc/self/fd/%d/%s", dirfd, name)
                : snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", name);
  if (*name == '\0') { rc = -EINVAL; goto out; }
  if (n < 0 || (size_t)n >= sizeof(addr.sun_path)) { rc = -ENAMETOOLONG; goto out; }
  fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0) { rc = -errno; goto out; }
  int r;
  do { r = connect(fd, (struct sockaddr *)&addr, sizeof(addr)); } while (r < 0 && errno == EINTR);
  if (r < 0) { rc = -errno; close(fd); fd = -1; goto out; }
  rc = fd;
out:
  if (dirfd >= 0) close(dirfd);
  free(path);
  return make_int(env, rc);
}

/*
 * unixDgramSend(path, buffer): one datagram to an AF_UNIX SOCK_DGRAM socket,
 * e.g. systemd's $NOTIFY_SOCKET (sd_notify). A leading '@' names an
 * abstract socket, as systemd spells it. Returns bytes sent or -errno.
 */
static napi_value js_unix_dgram_send(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (get_args(env, info, 2, argv)) return NULL;
  char *path = get_string(env, argv[0]);
  if (!path) return NULL;
  void *data = NULL;
  size_t len = 0;
  if (napi_get_buffer_info(env, argv[1], &data, &len) != napi_ok) {
    free(path);
    napi_throw_type_error(env, NULL, "skiff_native: expected a Buffer");
    return NULL;
  }
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof(addr));
  addr.sun_family = AF_UNIX;
  size_t plen = strlen(path);
  int rc;
  if (plen == 0 || plen >= sizeof(addr.sun_path)) { rc = plen ? -ENAMETOOLONG : -EINVAL; goto out; }
  memcpy(addr.sun_path, path, plen);
  socklen_t alen = offsetof(struct sockaddr_un, sun_path) + plen;
  if (path[0] == '@') addr.sun_path[0] = '\0'; /* abstract: no trailing NUL counted */
  else alen += 1;
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) { rc = -errno; goto out; }
  ssize_t n;
  do { n = sendto(fd, data, len, MSG_NOSIGNAL, (struct sockaddr *)&addr, alen); } while (n < 0 && errno == EINTR);
  rc = n < 0 ? -errno : (int)n;
  close(fd);
out:
  free(path);
  return make_int(env, rc);
}

/* shutdown(fd, how): SHUT_RD=0, SHUT_WR=1, SHUT_RDWR=2 */
static napi_value js_shutdown(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (get_args(env, info, 2, argv)) return NULL;
  int32_t fd, how;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  CHECK(napi_get_value_int32(env, argv[1], &how));
  int r = shutdown(fd, how);
  return make_int(env, r == 0 ? 0 : -errno);
}

/*
 * sendEmpty(fd) -> 0 | -errno
 *
 * Sends one zero-length message on a SOCK_SEQPACKET socket without blocking:
 * the peer's read(2) of it returns 0, as for a shutdown, but unlike a
 * shutdown it is a queued message, so outq() below tells when the peer has
 * read it.
 */
static napi_value js_send_empty(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (get_args(env, info, 1, argv)) return NULL;
  int32_t fd;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  ssize_t n;
  do { n = send(fd, "", 0, MSG_NOSIGNAL | MSG_DONTWAIT); } while (n < 0 && errno == EINTR);
  return make_int(env, n < 0 ? -errno : 0);
}

/*
 * outq(fd) -> bytes | -errno
 *
 * ioctl(SIOCOUTQ): for an AF_UNIX socket, the memory of the messages this
 * socket sent that the peer has not read yet (0 once it has read them all).
 */
static napi_value js_outq(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (get_args(env, info, 1, argv)) return NULL;
  int32_t fd;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  int n = 0;
  return make_int(env, ioctl(fd, SIOCOUTQ, &n) < 0 ? -errno : n);
}

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/*
 * cloexec_from(minfd) -> 0 | -errno
 *
 * Marks every descriptor >= minfd close-on-exec, so a child started next
 * (conmon, which daemonizes and lives as long as the container) inherits
 * only the descriptors handed to it explicitly. Node opens its own files
 * with O_CLOEXEC; this catches descriptors inherited from our parent.
 * close_range(2) when the kernel has it (5.11+), else /proc/self/fd.
 */
static napi_value js_cloexec_from(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (get_args(env, info, 1, argv)) return NULL;
  int32_t minfd;
  CHECK(napi_get_value_int32(env, argv[0], &minfd));
  if (minfd < 0) return make_int(env, -EINVAL);
#ifdef SYS_close_range
  if (syscall(SYS_close_range, (unsigned)minfd, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return make_int(env, 0);
#endif
  DIR *d = opendir("/proc/self/fd");
  if (!d) return make_int(env, -errno);
  int self = dirfd(d);
  struct dirent *ent;
  while ((ent = readdir(d)) != NULL) {
    if (ent->d_name[0] < '0' || ent->d_name[0] > '9') continue;
    int fd = atoi(ent->d_name);
    if (fd < minfd || fd == self) continue;
    int flags = fcntl(fd, F_GETFD);
    if (flags >= 0 && !(flags & FD_CLOEXEC)) fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
  }
  closedir(d);
  return make_int(env, 0);
}

/* string array (JS) -> NULL-terminated char** (malloc'd), NULL on error */
static char **get_string_array(napi_env env, napi_value arr) {
  uint32_t n;
  if (napi_get_array_length(env, arr, &n) != napi_ok) return NULL;
  char **out = calloc((size_t)n + 1, sizeof(char *));
  if (!out) return NULL;
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    if (napi_get_element(env, arr, i, &v) != napi_ok || !(out[i] = get_string(env, v))) {
      for (uint32_t j = 0; j < i; j++) free(out[j]);
      free(out);
      return NULL;
    }
  }
  return out;
}

/*
 * execve(path, argv[], envp[]) -> -errno (returns only on failure)
 *
 * Replaces the whole process (all of Node's threads) with another program:
 * how a rootless skiff moves itself into its user namespace (nsenter) while
 * keeping its pid, its terminal and its parent's view of the exit status.
 * Signals Node ignores (SIGPIPE) go back to their default first.
 * (A failed execve leaves 0-2 inheritable: harmless, Node spawns with explicit stdio.)
 */
static napi_value js_execve(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (get_args(env, info, 3, argv)) return NULL;
  char *path = get_string(env, argv[0]);
  if (!path) return NULL;
  char **args = get_string_array(env, argv[1]);
  char **envp = args ? get_string_array(env, argv[2]) : NULL;
  if (!args || !envp) { free(path); return NULL; }
  signal(SIGPIPE, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  /* Node marks the standard descriptors close-on-exec at start-up: hand them over. */
  for (int fd = 0; fd < 3; fd++) {
    int fl = fcntl(fd, F_GETFD);
    if (fl >= 0 && (fl & FD_CLOEXEC)) fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC);
  }
  execve(path, args, envp);
  int e = errno;
  signal(SIGPIPE, SIG_IGN);
  free(path);
  for (char **a = args; *a; a++) free(*a);
  for (char **a = envp; *a; a++) free(*a);
  free(args); free(envp);
  return make_int(env, -e);
}

/*
 * writeFileAt(dirfd, name, data, createMode, flags, uid, gid, mode, atime, mtime)
 *
 * One small regular file of a layer in one call: create it below dirfd
 * (O_EXCL|O_NOFOLLOW, and through openat2 RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS
 * when the kernel has it, so no component may be a symlink or leave dirfd),
 * write data, then fchown (flags & 1), fchmod (flags & 2), futimens, close,
 * in that order (chown clears setuid bits, so chmod comes after it).
 * Returns 0, or -(stage << 12 | errno) where stage says which call failed:
 * 0 open, 1 write, 2 fchown, 3 fchmod, 4 futimens, 5 close. Times are
 * seconds as doubles, converted as libuv converts fs.futimesSync's.
 */
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
struct skiff_open_how { uint64_t flags; uint64_t mode; uint64_t resolve; };
#define SKIFF_RESOLVE_NO_MAGICLINKS 0x02
#define SKIFF_RESOLVE_NO_SYMLINKS 0x04
#define SKIFF_RESOLVE_BENEATH 0x08

static struct timespec to_timespec(double t) {
  struct timespec ts;
  ts.tv_sec = (time_t)t;
  ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
  ts.tv_nsec -= ts.tv_nsec % 1000;
  if (ts.tv_nsec < 0) { ts.tv_nsec += 1000000000L; ts.tv_sec -= 1; }
  return ts;
}

static int open_beneath(int dirfd, const char *name, int flags, mode_t mode) {
  struct skiff_open_how how = {(uint64_t)flags, (uint64_t)mode,
                               SKIFF_RESOLVE_BENEATH | SKIFF_RESOLVE_NO_SYMLINKS | SKIFF_RESOLVE_NO_MAGICLINKS};
  int fd;
  do fd = (int)syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
  while (fd < 0 && errno == EINTR);
  if (fd >= 0 || (errno != ENOSYS && errno != EPERM)) return fd;
  /* No openat2 (old kernel, or a seccomp filter): the caller resolved the parents itself. */
  do fd = openat(dirfd, name, flags, mode);
  while (fd < 0 && errno == EINTR);
  return fd;
}

/* write, fchown (flags & 1), fchmod (flags & 2), futimens, close: 0 or -(stage << 12 | errno). Always closes fd. */
static int finish_fd(int fd, const void *data, size_t len, uint32_t flags, uint32_t uid, uint32_t gid, uint32_t mode, double atime, double mtime) {
  int stage = 0, err = 0;
  const char *p = data;
  size_t left = len;
  while (left > 0) {
    ssize_t w = write(fd, p, left);
    if (w < 0) { if (errno == EINTR) continue; stage = 1; err = errno; break; }
    p += w; left -= (size_t)w;
  }
  if (!err && (flags & 1) && fchown(fd, (uid_t)uid, (gid_t)gid) != 0) { stage = 2; err = errno; }
  if (!err && (flags & 2) && fchmod(fd, (mode_t)mode) != 0) { stage = 3; err = errno; }
  if (!err) {
    struct timespec ts[2] = {to_timespec(atime), to_timespec(mtime)};
    if (futimens(fd, ts) != 0) { stage = 4; err = errno; }
  }
  if (close(fd) != 0 && !err && errno != EINTR) { stage = 5; err = errno; }
  return err ? -((stage << 12) | err) : 0;
}

/* writeFileAt's ten arguments, which writeFileQueued takes too (after its slot). */
struct file_args {
  int32_t dirfd;
  uint32_t cmode, flags, uid, gid, mode;
  double atime, mtime;
  void *data;
  size_t len;
};
#define ARGS_THROWN INT_MIN

/*
 * Decodes (dirfd, name, data, createMode, flags, uid, gid, mode, atime,
 * mtime) from argv[0..9] into *a and creates the file `name` below dirfd
 * (O_EXCL|O_NOFOLLOW, through open_beneath). Returns the new descriptor,
 * -errno, or ARGS_THROWN with a JS exception pending.
 */
static int create_from_args(napi_env env, napi_value *argv, struct file_args *a) {
  a->data = NULL;
  a->len = 0;
  if (napi_get_value_int32(env, argv[0], &a->dirfd) != napi_ok || napi_get_buffer_info(env, argv[2], &a->data, &a->len) != napi_ok ||
      napi_get_value_uint32(env, argv[3], &a->cmode) != napi_ok || napi_get_value_uint32(env, argv[4], &a->flags) != napi_ok ||
      napi_get_value_uint32(env, argv[5], &a->uid) != napi_ok || napi_get_value_uint32(env, argv[6], &a->gid) != napi_ok ||
      napi_get_value_uint32(env, argv[7], &a->mode) != napi_ok || napi_get_value_double(env, argv[8], &a->atime) != napi_ok ||
      napi_get_value_double(env, argv[9], &a->mtime) != napi_ok) {
    napi_throw_error(env, NULL, "skiff_native: bad arguments");
    return ARGS_THROWN;
  }
  char name[MAX_PATH + 1];
  size_t nlen = 0;
  if (napi_get_value_string_utf8(env, argv[1], name, sizeof(name), &nlen) != napi_ok || nlen >= MAX_PATH) {
    napi_throw_type_error(env, NULL, "skiff_native: expected a string");
    return ARGS_THROWN;
  }
  int fd = open_beneath(a->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, (mode_t)a->cmode);
  return fd < 0 ? -errno : fd;
}

static napi_value js_write_file_at(napi_env env, napi_callback_info info) {
  napi_value argv[10];
  if (get_args(env, info, 10, argv)) return NULL;
  struct file_args a;
  int fd = create_from_args(env, argv, &a);
  if (fd == ARGS_THROWN) return NULL;
  if (fd < 0) return make_int(env, fd);
  return make_int(env, finish_fd(fd, a.data, a.len, a.flags, a.uid, a.gid, a.mode, a.atime, a.mtime));
}

/*
 * writeFileQueued(slot, dirfd, name, data, createMode, flags, uid, gid, mode, atime, mtime, id)
 *
 * writeFileAt split in two: the create (the same open_beneath, with every
 * path rule) happens here, synchronously, and its failure is returned as
 * writeFileAt's (stage 0). What follows only touches the new descriptor
 * (write, fchown, fchmod, futimens, close, in that order): a copy of data
 * goes to one worker thread that does it while JavaScript parses the next
 * members. Returns 0; 1 when a queued job has failed (call fileQueueDrain);
 * or -errno of the open. Jobs are bounded (QMAX_JOBS open descriptors,
 * QMAX_BYTES of copies): past that this call waits for the worker.
 *
 * The worker and its bounds are process-wide, but each layer writer (a
 * pull unpacks layers concurrently) has its own slot: fileQueueOpen() ->
 * slot, or -1 when all QSLOTS are taken (the caller then uses writeFileAt).
 * fileQueueDrain(slot, release) waits until every job of that slot is done
 * and returns 0, or the slot's first failure since its last drain as
 * -(id * 65536 + (stage << 12 | errno)); release frees the slot.
 */
struct wjob {
  struct wjob *next;
  int fd;
  uint32_t flags, uid, gid, mode, id, slot;
  double atime, mtime;
  size_t len;
  char data[];
};
#define QSLOTS 64
#define QMAX_JOBS 256
#define QMAX_BYTES (16u << 20)
#define QWAKE_JOBS 16
#define QWAKE_BYTES (1u << 20)
static pthread_mutex_t q_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_work = PTHREAD_COND_INITIALIZER, q_done = PTHREAD_COND_INITIALIZER;
static struct wjob *q_head, *q_tail;
/* Jobs queued or in progress, and their bytes. */
static size_t q_jobs, q_bytes;
static int q_started, q_idle, q_waiting;
/* Per slot: in use, jobs queued or in progress, first failure. */
static int q_slot_used[QSLOTS];
static size_t q_slot_jobs[QSLOTS];
static int64_t q_slot_err[QSLOTS];

static void *q_worker(void *arg) {
  (void)arg;
  pthread_mutex_lock(&q_mu);
  for (;;) {
    while (!q_head) { q_idle = 1; pthread_cond_wait(&q_work, &q_mu); }
    q_idle = 0;
    struct wjob *j = q_head;
    q_head = j->next;
    if (!q_head) q_tail = NULL;
    pthread_mutex_unlock(&q_mu);
    int rc = finish_fd(j->fd, j->data, j->len, j->flags, j->uid, j->gid, j->mode, j->atime, j->mtime);
    pthread_mutex_lock(&q_mu);
    if (rc < 0 && q_slot_err[j->slot] == 0) q_slot_err[j->slot] = -((int64_t)j->id * 65536 + (int64_t)(-rc));
    q_slot_jobs[j->slot]--;
    q_jobs--;
    q_bytes -= j->len;
    if (q_waiting) pthread_cond_broadcast(&q_done);
    free(j);
  }
  return NULL;
}

static napi_value js_write_file_queued(napi_env env, napi_callback_info info) {
  napi_value argv[12];
  if (get_args(env, info, 12, argv)) return NULL;
  uint32_t slot, id;
  CHECK(napi_get_value_uint32(env, argv[0], &slot));
  CHECK(napi_get_value_uint32(env, argv[11], &id));
  if (slot >= QSLOTS || !q_slot_used[slot]) {
    napi_throw_range_error(env, NULL, "skiff_native: no such file queue slot");
    return NULL;
  }
  struct file_args a;
  int fd = create_from_args(env, argv + 1, &a);
  if (fd == ARGS_THROWN) return NULL;
  if (fd < 0) return make_int(env, fd);
  const void *data = a.data;
  size_t len = a.len;
  uint32_t flags = a.flags, uid = a.uid, gid = a.gid, mode = a.mode;
  double atime = a.atime, mtime = a.mtime;
  struct wjob *j = len <= QMAX_BYTES ? malloc(sizeof(*j) + len) : NULL;
  pthread_mutex_lock(&q_mu);
  if (!q_started && j) {
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, q_worker, NULL) == 0) q_started = 1;
    pthread_attr_destroy(&attr);
  }
  if (!q_started || !j) {
    /* No thread or no memory: finish it here, as writeFileAt does. */
    pthread_mutex_unlock(&q_mu);
    free(j);
    int rc = finish_fd(fd, data, len, flags, uid, gid, mode, atime, mtime);
    if (rc < 0) {
      pthread_mutex_lock(&q_mu);
      if (q_slot_err[slot] == 0) q_slot_err[slot] = -((int64_t)id * 65536 + (int64_t)(-rc));
      pthread_mutex_unlock(&q_mu);
      return make_int(env, 1);
    }
    pthread_mutex_lock(&q_mu);
    int failed = q_slot_err[slot] != 0;
    pthread_mutex_unlock(&q_mu);
    return make_int(env, failed);
  }
  j->next = NULL; j->fd = fd; j->flags = flags; j->uid = uid; j->gid = gid; j->mode = mode; j->id = id; j->slot = slot;
  j->atime = atime; j->mtime = mtime; j->len = len;
  memcpy(j->data, data, len);
  while (q_jobs >= QMAX_JOBS || (q_jobs > 0 && q_bytes + len > QMAX_BYTES)) {
    if (q_idle) pthread_cond_signal(&q_work);
    q_waiting++;
    pthread_cond_wait(&q_done, &q_mu);
    q_waiting--;
  }
  if (q_tail) q_tail->next = j; else q_head = j;
  q_tail = j;
  q_jobs++;
  q_slot_jobs[slot]++;
  q_bytes += len;
  /* Wake an idle worker only for a batch: one futex call per many files. */
  if (q_idle && (q_jobs >= QWAKE_JOBS || q_bytes >= QWAKE_BYTES)) pthread_cond_signal(&q_work);
  int failed = q_slot_err[slot] != 0;
  pthread_mutex_unlock(&q_mu);
  return make_int(env, failed ? 1 : 0);
}

static napi_value js_file_queue_open(napi_env env, napi_callback_info info) {
  (void)info;
  int slot = -1;
  pthread_mutex_lock(&q_mu);
  for (int i = 0; i < QSLOTS; i++) {
    if (!q_slot_used[i]) { q_slot_used[i] = 1; q_slot_err[i] = 0; slot = i; break; }
  }
  pthread_mutex_unlock(&q_mu);
  return make_int(env, slot);
}

static napi_value js_file_queue_drain(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (get_args(env, info, 2, argv)) return NULL;
  uint32_t slot;
  bool release;
  CHECK(napi_get_value_uint32(env, argv[0], &slot));
  CHECK(napi_get_value_bool(env, argv[1], &release));
  if (slot >= QSLOTS || !q_slot_used[slot]) {
    napi_throw_range_error(env, NULL, "skiff_native: no such file queue slot");
    return NULL;
  }
  pthread_mutex_lock(&q_mu);
  while (q_slot_jobs[slot] > 0) {
    if (q_idle) pthread_cond_signal(&q_work);
    q_waiting++;
    pthread_cond_wait(&q_done, &q_mu);
    q_waiting--;
  }
  int64_t err = q_slot_err[slot];
  q_slot_err[slot] = 0;
  if (release) q_slot_used[slot] = 0;
  pthread_mutex_unlock(&q_mu);
  return make_int(env, err);
}

/*
 * symlinkAt(dirfd, target, name, flags, uid, gid, atime, mtime)
 *
 * A layer's symlink in one call: symlinkat, then (flags & 1)
 * fchownat(AT_SYMLINK_NOFOLLOW), then utimensat(AT_SYMLINK_NOFOLLOW): nothing
 * follows the new link. name's parents are the caller's (already resolved)
 * directories. Returns 0 or -(stage << 12 | errno): 0 symlink, 2 lchown,
 * 4 lutimes.
 */
static napi_value js_symlink_at(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  if (get_args(env, info, 8, argv)) return NULL;
  int32_t dirfd;
  uint32_t flags, uid, gid;
  double atime, mtime;
  CHECK(napi_get_value_int32(env, argv[0], &dirfd));
  CHECK(napi_get_value_uint32(env, argv[3], &flags));
  CHECK(napi_get_value_uint32(env, argv[4], &uid));
  CHECK(napi_get_value_uint32(env, argv[5], &gid));
  CHECK(napi_get_value_double(env, argv[6], &atime));
  CHECK(napi_get_value_double(env, argv[7], &mtime));
  char target[MAX_PATH + 1], name[MAX_PATH + 1];
  size_t tlen = 0, nlen = 0;
  if (napi_get_value_string_utf8(env, argv[1], target, sizeof(target), &tlen) != napi_ok || tlen >= MAX_PATH ||
      napi_get_value_string_utf8(env, argv[2], name, sizeof(name), &nlen) != napi_ok || nlen >= MAX_PATH) {
    napi_throw_type_error(env, NULL, "skiff_native: expected a string");
    return NULL;
  }
  if (symlinkat(target, dirfd, name) != 0) return make_int(env, -errno);
  if ((flags & 1) && fchownat(dirfd, name, (uid_t)uid, (gid_t)gid, AT_SYMLINK_NOFOLLOW) != 0) return make_int(env, -((2 << 12) | errno));
  struct timespec ts[2] = {to_timespec(atime), to_timespec(mtime)};
  if (utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW) != 0) return make_int(env, -((4 << 12) | errno));
  return make_int(env, 0);
}

/*
 * x32Syscalls() -> 1 | 0 | -1
 *
 * Whether this kernel executes x32 system calls: 1 yes, 0 no (a clean
 * ENOSYS: built without CONFIG_X86_X32_ABI, or syscall.x32=N), -1 unknown
 * (not x86_64, the probe was killed, e.g. by a SystemCallArchitectures=native
 * seccomp filter skiff runs under, or failed otherwise). The call is made in a
 * vfork()ed child, so only the child can be killed; it does nothing but the
 * one raw syscall (x32 getpid) and _exit(0 worked / 1 ENOSYS / 2 other).
 * SIGSYS goes back to its default there first: a handler must not run on the
 * parent's memory.
 */
static napi_value js_x32_syscalls(napi_env env, napi_callback_info info) {
  (void)info;
#if defined(__x86_64__) && !defined(__ILP32__)
  pid_t pid = vfork();
  if (pid == 0) {
    struct sigaction dfl;
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGSYS, &dfl, NULL);
    long r = syscall(0x40000000L /* __X32_SYSCALL_BIT */ | 39 /* __NR_getpid */);
    _exit(r >= 0 ? 0 : errno == ENOSYS ? 1 : 2);
  }
  if (pid < 0) return make_int(env, -1);
  int status = 0;
  pid_t w;
  do w = waitpid(pid, &status, 0);
  while (w < 0 && errno == EINTR);
  if (w != pid || !WIFEXITED(status)) return make_int(env, -1);
  int code = WEXITSTATUS(status);
  return make_int(env, code == 0 ? 1 : code == 1 ? 0 : -1);
#else
  return make_int(env, -1);
#endif
}

/*
 * vfork() and execve(path) with stdin and stdout on null_fd, stderr on
 * err_w, fd 3 on sync_w, in cwd, every signal at its default and none
 * blocked. Returns the pid, or -1 with *err = -errno when vfork, the set-up
 * or the exec failed (the child is reaped then). Its own function, so that
 * the child, which runs on this stack until it execs, shares no register
 * state with the caller's locals.
 */
static __attribute__((noinline)) pid_t vfork_exec(const char *path, char *const *args, char *const *envp, const char *cwd, int null_fd, int err_w, int sync_w, int *err) {
  /* The kernel's struct sigaction, all zero: SIG_DFL, no flags, empty mask (the same layout on every architecture). */
  static const unsigned long dfl_action[4] = {0, 0, 0, 0};
  static const unsigned long no_signals = 0;
  volatile int exec_errno = 0;
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old); /* no handler of ours may run in the child */
  pid_t pid = vfork();
  if (pid == 0) {
    for (int sig = 1; sig <= 64; sig++) syscall(SYS_rt_sigaction, sig, dfl_action, NULL, 8);
    if (dup2(null_fd, 0) < 0 || dup2(null_fd, 1) < 0 || dup2(err_w, 2) < 0 || dup2(sync_w, 3) < 0 || chdir(cwd) != 0) {
      exec_errno = errno;
      _exit(127);
    }
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &no_signals, NULL, 8);
    execve(path, args, envp);
    exec_errno = errno;
    _exit(127);
  }
  int vfork_errno = errno;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (pid < 0) {
    *err = -vfork_errno;
    return -1;
  }
  if (exec_errno != 0) {
    *err = -exec_errno;
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    return -1;
  }
  return pid;
}

/*
 * spawnMonitor(path, argv[], envp[], cwd) -> [pid, syncFd, errFd] | -errno
 *
 * Starts conmon the cheap way: vfork() and execve (no copy of Node's page
 * tables: ~0.1 ms where child_process.spawn's fork costs 1.5-2 ms in a 50-90
 * MB process) with /dev/null as stdin and stdout, a pipe as stderr and a pipe
 * as fd 3 (the sync pipe, _OCI_SYNCPIPE=3), in cwd. Returns the child's pid
 * and the read ends (close-on-exec; errFd non-blocking, read only after a
 * failure). In the child every signal goes back to its default and none is
 * blocked, as child_process does: Node ignores SIGPIPE, and an ignored
 * signal would stay ignored in conmon and the container. (Not posix_spawn:
 * glibc's leaves its internal signals 32 and 33 ignored in the child.) The
 * child shares our memory until it execs: it only makes system calls on
 * what was prepared before vfork(). Node does not reap the child:
 * waitpid() below.
 */
static napi_value js_spawn_monitor(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (get_args(env, info, 4, argv)) return NULL;
  char *path = get_string(env, argv[0]);
  char **args = path ? get_string_array(env, argv[1]) : NULL;
  char **envp = args ? get_string_array(env, argv[2]) : NULL;
  char *cwd = envp ? get_string(env, argv[3]) : NULL;
  int result = 0, sync_p[2] = {-1, -1}, err_p[2] = {-1, -1}, sync_w = -1, err_w = -1, null_fd = -1;
  pid_t pid = -1;
  if (!cwd) goto out;
  if (pipe2(sync_p, O_CLOEXEC) != 0 || pipe2(err_p, O_CLOEXEC) != 0) { result = -errno; goto out; }
  /* Above the descriptors the child gets, so that no dup2 below lands on another's source. */
  if ((sync_w = fcntl(sync_p[1], F_DUPFD_CLOEXEC, 10)) < 0 || (err_w = fcntl(err_p[1], F_DUPFD_CLOEXEC, 10)) < 0 ||
      (null_fd = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0) { result = -errno; goto out; }
  int moved = fcntl(null_fd, F_DUPFD_CLOEXEC, 10);
  if (moved < 0) { result = -errno; goto out; }
  close(null_fd);
  null_fd = moved;
  if (fcntl(err_p[0], F_SETFL, fcntl(err_p[0], F_GETFL) | O_NONBLOCK) != 0) { result = -errno; goto out; }
  pid = vfork_exec(path, args, envp, cwd, null_fd, err_w, sync_w, &result);
out:;
  int ours[5] = {sync_p[1], err_p[1], sync_w, err_w, null_fd};
  for (int i = 0; i < 5; i++) if (ours[i] >= 0) close(ours[i]);
  if (result != 0) {
    if (sync_p[0] >= 0) close(sync_p[0]);
    if (err_p[0] >= 0) close(err_p[0]);
  }
  free(path);
  free(cwd);
  if (args) { for (char **a = args; *a; a++) free(*a); free(args); }
  if (envp) { for (char **a = envp; *a; a++) free(*a); free(envp); }
  if (!path || !args || !envp || !cwd) return NULL; /* an exception is pending */
  if (result != 0) return make_int(env, result);
  napi_value arr;
  napi_create_array_with_length(env, 3, &arr);
  napi_set_element(env, arr, 0, make_int(env, pid));
  napi_set_element(env, arr, 1, make_int(env, sync_p[0]));
  napi_set_element(env, arr, 2, make_int(env, err_p[0]));
  return arr;
}

/*
 * waitpid(pid, block) -> exit status (0-255) | 128+signal | -1 still running (block false) | -errno
 *
 * Reaps a child started by spawnMonitor (Node's own waitpid only knows the
 * children it spawned itself).
 */
static napi_value js_waitpid(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (get_args(env, info, 2, argv)) return NULL;
  int32_t pid;
  bool block;
  CHECK(napi_get_value_int32(env, argv[0], &pid));
  CHECK(napi_get_value_bool(env, argv[1], &block));
  int status = 0;
  pid_t w;
  do w = waitpid(pid, &status, block ? 0 : WNOHANG);
  while (w < 0 && errno == EINTR);
  if (w < 0) return make_int(env, -errno);
  if (w == 0) return make_int(env, -1);
  return make_int(env, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

/*
 * Empties and removes the directory `name` below dirfd (which is on device
 * dev), never following a symbolic link and never entering another file
 * system (-EXDEV: a mount left inside is an error, not something to empty).
 * Entries that vanish meanwhile are fine. Returns 0 or -errno.
 */
static int remove_dir_at(int dirfd, const char *name, dev_t dev, int depth) {
  if (depth > 4096) return -ELOOP;
  int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? 0 : -errno;
  struct stat st;
  if (fstat(fd, &st) != 0) { int e = errno; close(fd); return -e; }
  if (st.st_dev != dev) { close(fd); return -EXDEV; }
  DIR *d = fdopendir(fd);
  if (!d) { int e = errno; close(fd); return -e; }
  int rc = 0;
  struct dirent *ent;
  while (rc == 0 && (errno = 0, ent = readdir(d)) != NULL) {
    const char *n = ent->d_name;
    if (n[0] == '.' && (n[1] == 0 || (n[1] == '.' && n[2] == 0))) continue;
    if (ent->d_type != DT_DIR && ent->d_type != DT_UNKNOWN) {
      if (unlinkat(fd, n, 0) == 0 || errno == ENOENT) continue;
      if (errno != EISDIR) { rc = -errno; break; }
    } else if (ent->d_type == DT_UNKNOWN) {
      struct stat cst;
      if (fstatat(fd, n, &cst, AT_SYMLINK_NOFOLLOW) != 0) { if (errno == ENOENT) continue; rc = -errno; break; }
      if (!S_ISDIR(cst.st_mode)) {
        if (unlinkat(fd, n, 0) == 0 || errno == ENOENT) continue;
        rc = -errno;
        break;
      }
    }
    rc = remove_dir_at(fd, n, dev, depth + 1);
  }
  if (rc == 0 && errno != 0 && ent == NULL) rc = -errno;
  closedir(d);
  if (rc != 0) return rc;
  if (unlinkat(dirfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT) return -errno;
  return 0;
}

/*
 * removeTree(path) -> 0 | -errno
 *
 * rm -rf PATH for skiff's own state (records, bundles, runtime state): no
 * symbolic link is followed, no other file system is entered (-EXDEV, where
 * fs.rmSync would empty a mount left in place), a missing path is not an
 * error. Node 20's fs.rmSync is a JavaScript walk that costs ~2.5 ms to load
 * on first use and ~0.1 ms per entry; this is a few system calls.
 */
static napi_value js_remove_tree(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (get_args(env, info, 1, argv)) return NULL;
  char *path = get_string(env, argv[0]);
  if (!path) return NULL;
  int rc = 0;
  struct stat st;
  if (lstat(path, &st) != 0) rc = errno == ENOENT ? 0 : -errno;
  else if (!S_ISDIR(st.st_mode)) rc = unlink(path) == 0 || errno == ENOENT ? 0 : -errno;
  else rc = remove_dir_at(AT_FDCWD, path, st.st_dev, 0);
  free(path);
  return make_int(env, rc);
}

/*
 * Gunzip + sha256 on a thread of its own, for the pull path's gzip layers
 * (src/lib/image/layer-stream.ts). node:zlib inflates on libuv's pool, but
 * each 256 KiB chunk costs the JS thread a stream round trip (Transform,
 * async iterator, promise) and a fresh output buffer, and node:crypto's
 * sha256 of the tar (the diff ID) runs on the JS thread: together ~0.1 s
 * of a 29k-member layer whose JS thread is the critical path. Neither
 * library can inflate or hash on a thread of the caller's own without that
 * hand-off; this does both with the zlib and OpenSSL (SHA256_*, see
 * below) that Node links in and exports.
 *
 * gzOpen() -> handle. gzPush(h, buf) queues compressed bytes; gzGive(h,
 * buf) lends an empty output buffer; the caller keeps both alive and
 * unchanged until they come back: an input once gzQueued(h) counts past
 * it, an output when gzNext(h) returns its filled length (outputs are
 * filled whole, in the order lent, except the last). gzNext waits while
 * the thread has input, and returns -1 when it needs more input (or, after
 * gzEnd(h), when all is delivered). gzResult(h) -> [sha256 hex, bytes].
 * gzClose(h) stops and joins the thread (also done by GC); nothing lent is
 * touched after it. A corrupt stream: gzNext throws, after the blocks
 * filled before the one where inflate noticed (that one is dropped), an
 * Error with zlib's message and .code Z_DATA_ERROR; a truncated one, after
 * all it inflated, Z_BUF_ERROR "unexpected end of file", as node:zlib does.
 * Concatenated gzip members are read as one stream and zero bytes after a
 * member are skipped (padding), as node:zlib's Gunzip does.
 */
#include <zlib.h>
/* SHA256_*: OpenSSL's low-level hash (deprecated in 3.0, still exported by
 * Node): a plain function over our own context, no provider fetched, no
 * global state that OpenSSL's exit-time cleanup could free under a thread
 * still hashing. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#define GZ_IN_MAX 64
#define GZ_OUT_MAX 16

struct gz {
  pthread_mutex_t mu;
  pthread_cond_t cv_thread, cv_main;
  const unsigned char *in_p[GZ_IN_MAX];
  size_t in_len[GZ_IN_MAX];
  unsigned in_head, in_count;
  /* Lent output buffers, in order: the first out_filled of them are full (lengths in out_len). */
  unsigned char *out_p[GZ_OUT_MAX];
  size_t out_cap[GZ_OUT_MAX], out_len[GZ_OUT_MAX];
  unsigned out_head, out_count, out_filled;
  int ended, stop, finished, zerr, member_end, closed, main_waiting;
  char msg[160];
  uint64_t total;
  unsigned char digest[32];
  pthread_t th;
  int started;
  z_stream strm;
  SHA256_CTX sha;
};

/* The buffer being filled (the first lent one not yet full), waiting for one; NULL when told to stop. Called with mu held. */
static unsigned char *gz_cur_locked(struct gz *g, size_t *cap) {
  while (g->out_count == g->out_filled && !g->stop) pthread_cond_wait(&g->cv_thread, &g->mu);
  if (g->stop) return NULL;
  unsigned i = (g->out_head + g->out_filled) % GZ_OUT_MAX;
  *cap = g->out_cap[i];
  return g->out_p[i];
}

/* The buffer being filled is done (len bytes): the main thread may take it. Called with mu held. */
static void gz_emit_locked(struct gz *g, size_t len) {
  g->out_len[(g->out_head + g->out_filled) % GZ_OUT_MAX] = len;
  g->out_filled++;
  if (g->main_waiting) pthread_cond_signal(&g->cv_main);
}

static void gz_fail_locked(struct gz *g, int code, const char *msg) {
  if (g->zerr) return;
  g->zerr = code;
  snprintf(g->msg, sizeof g->msg, "%s", msg);
}

static void *gz_worker(void *arg) {
  struct gz *g = arg;
  unsigned char *cur = NULL;
  size_t cur_cap = 0, cur_len = 0;
  pthread_mutex_lock(&g->mu);
  for (;;) {
    while (!g->stop && g->in_count == 0 && !g->ended) pthread_cond_wait(&g->cv_thread, &g->mu);
    if (g->stop) break;
    if (g->in_count == 0) {
      /* gzEnd and all input consumed: the last block, the digest. A block
       * broken by a data error stays dropped (below), however late gzEnd
       * comes; a stream that just stops short keeps what it inflated, as
       * node:zlib does. */
      int broken = g->zerr != 0;
      if (!g->zerr && !g->member_end) gz_fail_locked(g, Z_BUF_ERROR, "unexpected end of file");
      if (cur_len > 0 && !broken) gz_emit_locked(g, cur_len);
      SHA256_Final(g->digest, &g->sha);
      g->finished = 1;
      pthread_cond_signal(&g->cv_main);
      break;
    }
    const unsigned char *p = g->in_p[g->in_head];
    size_t len = g->in_len[g->in_head];
    int failed = g->zerr != 0;
    pthread_mutex_unlock(&g->mu);
    z_stream *s = &g->strm;
    s->next_in = (unsigned char *)p;
    s->avail_in = 0;
    /* Chunks over 4 GiB do not come from a stream; take them in pieces anyway. */
    size_t left = len;
    int stopped = 0;
    while (!failed && !stopped && (left > 0 || s->avail_in > 0)) {
      if (s->avail_in == 0) {
        s->avail_in = left > UINT_MAX ? UINT_MAX : (unsigned)left;
        left -= s->avail_in;
      }
      if (g->member_end) {
        /* After a member: zero bytes are padding; anything else starts another member. */
        while (s->avail_in > 0 && *s->next_in == 0) { s->next_in++; s->avail_in--; }
        if (s->avail_in == 0) continue;
        inflateReset(s);
        g->member_end = 0;
      }
      if (!cur) {
        pthread_mutex_lock(&g->mu);
        cur = gz_cur_locked(g, &cur_cap);
        pthread_mutex_unlock(&g->mu);
        cur_len = 0;
        if (!cur) { stopped = 1; break; }
      }
      size_t room = cur_cap - cur_len;
      s->next_out = cur + cur_len;
      s->avail_out = room > UINT_MAX ? UINT_MAX : (unsigned)room;
      unsigned before = s->avail_out;
      int r = inflate(s, Z_NO_FLUSH);
      size_t made = before - s->avail_out;
      if (made > 0) {
        SHA256_Update(&g->sha, cur + cur_len, made);
        cur_len += made;
        g->total += made;
      }
      int fcode = 0;
      char fmsg[160];
      if (r == Z_STREAM_END) {
        g->member_end = 1;
      } else if (r != Z_OK && !(r == Z_BUF_ERROR && made == 0 && s->avail_in == 0)) {
        fcode = r == Z_NEED_DICT ? Z_DATA_ERROR : r;
        snprintf(fmsg, sizeof fmsg, "%s", s->msg ? s->msg : r == Z_NEED_DICT ? "Missing dictionary" : "zlib error");
        failed = 1;
      }
      pthread_mutex_lock(&g->mu);
      if (cur_len == cur_cap && !failed) {
        gz_emit_locked(g, cur_len);
        cur = NULL;
        cur_len = 0;
      }
      /* The error after the blocks filled before it; the block it broke is
       * dropped (node:zlib drops the output of the failing call too): what
       * inflate made just before noticing is likely garbage, which the tar
       * parser would otherwise report first, as a bad header. */
      if (fcode) {
        gz_fail_locked(g, fcode, fmsg);
        if (g->main_waiting) pthread_cond_signal(&g->cv_main);
      }
      pthread_mutex_unlock(&g->mu);
    }
    pthread_mutex_lock(&g->mu);
    if (stopped) break;
    g->in_head = (g->in_head + 1) % GZ_IN_MAX;
    g->in_count--;
    if (g->main_waiting) pthread_cond_signal(&g->cv_main);
  }
  pthread_cond_signal(&g->cv_main);
  pthread_mutex_unlock(&g->mu);
  return NULL;
}

static void gz_destroy(struct gz *g) {
  if (g->closed) return;
  g->closed = 1;
  if (g->started) {
    pthread_mutex_lock(&g->mu);
    g->stop = 1;
    pthread_cond_broadcast(&g->cv_thread);
    pthread_mutex_unlock(&g->mu);
    pthread_join(g->th, NULL);
  }
  inflateEnd(&g->strm);
}

/* Node tearing the environment down with a handle still open: join its thread before the buffers it may touch go. */
static void gz_cleanup_hook(void *data) {
  gz_destroy(data);
}

static void gz_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  struct gz *g = data;
  napi_remove_env_cleanup_hook(env, gz_cleanup_hook, g);
  gz_destroy(g);
  pthread_cond_destroy(&g->cv_thread);
  pthread_cond_destroy(&g->cv_main);
  pthread_mutex_destroy(&g->mu);
  free(g);
}

static struct gz *gz_arg(napi_env env, napi_value v) {
  struct gz *g = NULL;
  if (napi_get_value_external(env, v, (void **)&g) != napi_ok || !g || g->closed) {
    napi_throw_type_error(env, NULL, "skiff_native: not an open gunzip handle");
    return NULL;
  }
  return g;
}

/* The open gunzip handle that is a call's only argument (NULL: an exception is pending). */
static struct gz *gz_only_arg(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (get_args(env, info, 1, argv)) return NULL;
  return gz_arg(env, argv[0]);
}

/* A call's (handle, buffer) arguments: gzPush's input, gzGive's output (NULL: an exception is pending). */
static struct gz *gz_buffer_args(napi_env env, napi_callback_info info, void **data, size_t *len) {
  napi_value argv[2];
  if (get_args(env, info, 2, argv)) return NULL;
  struct gz *g = gz_arg(env, argv[0]);
  if (!g) return NULL;
  CHECK(napi_get_buffer_info(env, argv[1], data, len));
  return g;
}

static napi_value js_gz_open(napi_env env, napi_callback_info info) {
  (void)info;
  struct gz *g = calloc(1, sizeof *g);
  if (!g) { napi_throw_error(env, NULL, "skiff_native: out of memory"); return NULL; }
  pthread_mutex_init(&g->mu, NULL);
  pthread_cond_init(&g->cv_thread, NULL);
  pthread_cond_init(&g->cv_main, NULL);
  /* 16 + 15: gzip only, a 32 KiB window (node:zlib's Gunzip). */
  SHA256_Init(&g->sha);
  int zok = inflateInit2(&g->strm, 16 + MAX_WBITS) == Z_OK;
  if (!zok || pthread_create(&g->th, NULL, gz_worker, g) != 0) {
    g->closed = 1;
    if (zok) inflateEnd(&g->strm);
    free(g);
    napi_throw_error(env, NULL, "skiff_native: cannot start the gunzip thread");
    return NULL;
  }
  g->started = 1;
  napi_add_env_cleanup_hook(env, gz_cleanup_hook, g);
  napi_value out;
  if (napi_create_external(env, g, gz_finalize, NULL, &out) != napi_ok) {
    gz_finalize(env, g, NULL);
    napi_throw_error(env, NULL, "skiff_native: cannot wrap the gunzip handle");
    return NULL;
  }
  return out;
}

static napi_value js_gz_push(napi_env env, napi_callback_info info) {
  void *data;
  size_t len;
  struct gz *g = gz_buffer_args(env, info, &data, &len);
  if (!g) return NULL;
  pthread_mutex_lock(&g->mu);
  if (g->ended || g->in_count == GZ_IN_MAX) {
    pthread_mutex_unlock(&g->mu);
    napi_throw_error(env, NULL, "skiff_native: gunzip input queue full or ended");
    return NULL;
  }
  unsigned i = (g->in_head + g->in_count) % GZ_IN_MAX;
  g->in_p[i] = data;
  g->in_len[i] = len;
  g->in_count++;
  pthread_cond_signal(&g->cv_thread);
  unsigned n = g->in_count;
  pthread_mutex_unlock(&g->mu);
  return make_int(env, n);
}

static napi_value js_gz_give(napi_env env, napi_callback_info info) {
  void *data;
  size_t len;
  struct gz *g = gz_buffer_args(env, info, &data, &len);
  if (!g) return NULL;
  pthread_mutex_lock(&g->mu);
  if (g->out_count == GZ_OUT_MAX || len == 0) {
    pthread_mutex_unlock(&g->mu);
    napi_throw_error(env, NULL, "skiff_native: too many gunzip output buffers, or an empty one");
    return NULL;
  }
  unsigned i = (g->out_head + g->out_count) % GZ_OUT_MAX;
  g->out_p[i] = data;
  g->out_cap[i] = len;
  g->out_count++;
  pthread_cond_signal(&g->cv_thread);
  pthread_mutex_unlock(&g->mu);
  return NULL;
}

static napi_value js_gz_queued(napi_env env, napi_callback_info info) {
  struct gz *g = gz_only_arg(env, info);
  if (!g) return NULL;
  pthread_mutex_lock(&g->mu);
  unsigned n = g->in_count;
  pthread_mutex_unlock(&g->mu);
  return make_int(env, n);
}

static napi_value js_gz_end(napi_env env, napi_callback_info info) {
  struct gz *g = gz_only_arg(env, info);
  if (!g) return NULL;
  pthread_mutex_lock(&g->mu);
  g->ended = 1;
  pthread_cond_signal(&g->cv_thread);
  pthread_mutex_unlock(&g->mu);
  return NULL;
}

static napi_value gz_throw(napi_env env, int code, const char *msg) {
  const char *name = code == Z_DATA_ERROR ? "Z_DATA_ERROR" : code == Z_BUF_ERROR ? "Z_BUF_ERROR" : code == Z_MEM_ERROR ? "Z_MEM_ERROR" : code == Z_STREAM_ERROR ? "Z_STREAM_ERROR" : "Z_ERRNO";
  napi_value c, m, err, errno_v;
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &c);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
  napi_create_error(env, c, m, &err);
  napi_create_int32(env, code, &errno_v);
  napi_set_named_property(env, err, "errno", errno_v);
  napi_throw(env, err);
  return NULL;
}

static napi_value js_gz_next(napi_env env, napi_callback_info info) {
  struct gz *g = gz_only_arg(env, info);
  if (!g) return NULL;
  pthread_mutex_lock(&g->mu);
  int64_t got = -1;
  for (;;) {
    if (g->out_filled > 0) {
      got = (int64_t)g->out_len[g->out_head];
      g->out_head = (g->out_head + 1) % GZ_OUT_MAX;
      g->out_count--;
      g->out_filled--;
      break;
    }
    if (g->zerr) {
      /* Everything inflated before the error was delivered above. */
      int code = g->zerr;
      char msg[160];
      memcpy(msg, g->msg, sizeof msg);
      pthread_mutex_unlock(&g->mu);
      return gz_throw(env, code, msg);
    }
    if (g->finished || (g->in_count == 0 && !g->ended)) break;
    g->main_waiting = 1;
    pthread_cond_wait(&g->cv_main, &g->mu);
    g->main_waiting = 0;
  }
  pthread_mutex_unlock(&g->mu);
  return make_int(env, got);
}

static napi_value js_gz_result(napi_env env, napi_callback_info info) {
  struct gz *g = gz_only_arg(env, info);
  if (!g) return NULL;
  pthread_mutex_lock(&g->mu);
  int finished = g->finished, code = g->zerr;
  pthread_mutex_unlock(&g->mu);
  if (code) return gz_throw(env, code, g->msg);
  if (!finished) { napi_throw_error(env, NULL, "skiff_native: gunzip not finished"); return NULL; }
  char hex[65];
  for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", g->digest[i]);
  napi_value arr, h, n;
  napi_create_array_with_length(env, 2, &arr);
  napi_create_string_latin1(env, hex, 64, &h);
  napi_create_double(env, (double)g->total, &n);
  napi_set_element(env, arr, 0, h);
  napi_set_element(env, arr, 1, n);
  return arr;
}

static napi_value js_gz_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (get_args(env, info, 1, argv)) return NULL;
  struct gz *g = NULL;
  if (napi_get_value_external(env, argv[0], (void **)&g) == napi_ok && g) gz_destroy(g);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"mknod", NULL, js_mknod, NULL, NULL, NULL, napi_default, NULL},
    {"lsetxattr", NULL, js_lsetxattr, NULL, NULL, NULL, napi_default, NULL},
    {"lgetxattr", NULL, js_lgetxattr, NULL, NULL, NULL, napi_default, NULL},
    {"llistxattr", NULL, js_llistxattr, NULL, NULL, NULL, napi_default, NULL},
    {"mount", NULL, js_mount, NULL, NULL, NULL, napi_default, NULL},
    {"umount2", NULL, js_umount2, NULL, NULL, NULL, napi_default, NULL},
    {"flock", NULL, js_flock, NULL, NULL, NULL, napi_default, NULL},
    {"unixSeqpacketConnect", NULL, js_unix_seqpacket_connect, NULL, NULL, NULL, napi_default, NULL},
    {"shutdown", NULL, js_shutdown, NULL, NULL, NULL, napi_default, NULL},
    {"sendEmpty", NULL, js_send_empty, NULL, NULL, NULL, napi_default, NULL},
    {"outq", NULL, js_outq, NULL, NULL, NULL, napi_default, NULL},
    {"cloexecFrom", NULL, js_cloexec_from, NULL, NULL, NULL, napi_default, NULL},
    {"unixDgramSend", NULL, js_unix_dgram_send, NULL, NULL, NULL, napi_default, NULL},
    {"execve", NULL, js_execve, NULL, NULL, NULL, napi_default, NULL},
    {"writeFileAt", NULL, js_write_file_at, NULL, NULL, NULL, napi_default, NULL},
    {"writeFileQueued", NULL, js_write_file_queued, NULL, NULL, NULL, napi_default, NULL},
    {"fileQueueOpen", NULL, js_file_queue_open, NULL, NULL, NULL, napi_default, NULL},
    {"fileQueueDrain", NULL, js_file_queue_drain, NULL, NULL, NULL, napi_default, NULL},
    {"symlinkAt", NULL, js_symlink_at, NULL, NULL, NULL, napi_default, NULL},
    {"x32Syscalls", NULL, js_x32_syscalls, NULL, NULL, NULL, napi_default, NULL},
    {"spawnMonitor", NULL, js_spawn_monitor, NULL, NULL, NULL, napi_default, NULL},
    {"waitpid", NULL, js_waitpid, NULL, NULL, NULL, napi_default, NULL},
    {"removeTree", NULL, js_remove_tree, NULL, NULL, NULL, napi_default, NULL},
    {"gzOpen", NULL, js_gz_open, NULL, NULL, NULL, napi_default, NULL},
    {"gzPush", NULL, js_gz_push, NULL, NULL, NULL, napi_default, NULL},
    {"gzGive", NULL, js_gz_give, NULL, NULL, NULL, napi_default, NULL},
    {"gzQueued", NULL, js_gz_queued, NULL, NULL, NULL, napi_default, NULL},
    {"gzEnd", NULL, js_gz_end, NULL, NULL, NULL, napi_default, NULL},
    {"gzNext", NULL, js_gz_next, NULL, NULL, NULL, napi_default, NULL},
    {"gzResult", NULL, js_gz_result, NULL, NULL, NULL, napi_default, NULL},
    {"gzClose", NULL, js_gz_close, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
