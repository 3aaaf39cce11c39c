/**
 * Writes parsed members into the layer root, synchronously (file creation
 * dominates unpack time; sync fs calls in one loop beat per-entry promises).
 *
 * Replacement follows docker: a directory over an existing directory only
 * updates its metadata; anything else first removes what is there (a whole
 * tree, if it was a directory) and never writes through it.
 */
import * as fs from 'node:fs';
import {errnoCode} from '../../util/errors';
import {fileQueueDrain, fileQueueOpen, mknod, symlinkAt, WRITE_FILE, writeFileAt, writeFileQueued} from '../../util/native';
import type {TarEntry} from './entry';
import {entryError} from './entry-error';
import {checkHardlinkTarget} from './hardlink';
import {LayerState, S_ISGID} from './layer-state';
import {assertDeviceAllowed} from './limits';
import {applyNodeMetadata, applySymlinkMetadata, atimeOf, finishFile} from './metadata';
import type {EntrySink} from './parser';
import {entryComponents} from './safe-path';
import {resolveDirInRoot} from './scoped-resolve';
import {classifyWhiteout, OPAQUE_MARKER, WHITEOUT_META_PREFIX, type Whiteout} from './whiteout';
import {applyDeleteWhiteout, applyOpaqueWhiteout} from './whiteout-apply';
import {writeOverlayOpaque, writeOverlayWhiteout} from './whiteout-overlay';

export interface WriterOptions {
  whiteouts: 'overlay' | 'apply' | 'none';
  allowDevices: boolean;
}

const {O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_DIRECTORY, S_IFCHR, S_IFBLK, S_IFIFO} = fs.constants;
/** Linux's O_PATH (asm-generic), absent from fs.constants: a directory handle that needs no read permission. */
const O_PATH = 0o10000000;
/** O_EXCL: never reuse (or follow) what is at the path; replacement is explicit. */
const CREATE_FLAGS = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW;

/**
 * Files up to this size go through the addon's queue; larger ones are
 * written here. For them the copy the queue needs (past glibc's mmap
 * threshold also an mmap/munmap per file, each unmap a TLB shootdown while
 * the worker runs) costs more than the overlap gains. bench/unpack.sh, net
 * of start-up (skiff/tar), layer-a (1.6k files of 12-160 KiB) / layer-b
 * (29k mostly small files): every file queued 1.33x / 0.74x; up to 64 KiB
 * 1.21x / 0.88x; up to 16 KiB 1.07x / 0.87x; none 1.13x / 1.07x.
 */
const QUEUED_FILE_MAX = 16 * 1024;

export class LayerWriter implements EntrySink {
  entries = 0;
  bytes = 0;
  readonly state: LayerState;
  private fd = -1;
  private fileAbs = '';
  private fileRel = '';
  private fileEntry: TarEntry | undefined;
  private fileChown = true;
  private fileChmod = true;
  /** Parent (real relative path) of the member locate() placed last. */
  private parent = '';
  private dirfd = -1;
  /**
   * Member names and real paths of the files handed to the addon's queue
   * (writeFileQueued) since the last drain, indexed by job id.
   */
  private queuedNames: string[] = [];
  /** This writer's slot of the addon's queue (a pull unpacks layers concurrently); -1: none yet; undefined: none free, write synchronously. */
  private slot: number | undefined = -1;
  private queuedRels: string[] = [];
  /** The member a queued job failed for, when that is what stopped the extraction (errors name it, not the member being parsed). */
  failedEntry: string | undefined;
  /** Files we create are root:root without a chown (outside setgid directories). */
  private readonly rootIds = process.geteuid?.() === 0 && process.getegid?.() === 0;

  constructor(
    root: string,
    private readonly opts: WriterOptions,
  ) {
    this.state = new LayerState(root, opts.whiteouts !== 'overlay');
  }

  entry(e: TarEntry): void {
    const rel = this.locate(e);
    if (rel === undefined) return;
    switch (e.type) {
      case 'file':
        this.openFile(this.parent, rel, e);
        break;
      case 'dir':
        this.dir(rel, e);
        break;
      case 'symlink':
        this.symlink(rel, e);
        break;
      case 'hardlink':
        this.hardlink(rel, e);
        break;
      case 'char':
      case 'block':
      case 'fifo':
        this.node(rel, e);
        break;
    }
    this.state.markWritten(rel);
  }

  /**
   * A whole regular file whose content is at hand (the parser had it in one
   * chunk): created here (native writeFileQueued: the open, with every path
   * rule, happens in this call), then written, owned, moded and timed on its
   * descriptor by the addon's worker thread while the parser goes on,
   * instead of entry() + data() + end() and five or six fs calls. A failure
   * of that second half stops the extraction at the next drain (at the
   * latest in finish()), naming its member. Returns where the content landed, relative to the root, or
   * undefined when it is not stored (a whiteout marker, AUFS metadata).
   */
  file(e: TarEntry, content: Buffer): string | undefined {
    if (e.xattrs !== undefined) {
      // xattrs go between the chown and the chmod (metadata.ts): the general path.
      this.entry(e);
      const p = this.contentPath;
      if (content.length > 0) this.data(content);
      this.end();
      return p;
    }
    const rel = this.locate(e);
    if (rel === undefined) return undefined;
    const plain = (e.mode & 0o7000) === 0 && (e.mode & this.state.umask) === 0;
    let flags = plain ? 0 : WRITE_FILE.CHMOD;
    if (!(this.rootIds && e.uid === 0 && e.gid === 0 && !this.state.setgidDirs.has(this.parent))) flags |= WRITE_FILE.CHOWN;
    const dirfd = this.rootFd();
    const atime = atimeOf(e);
    const createMode = plain ? e.mode : 0o600;
    if (this.slot === -1) this.slot = fileQueueOpen();
    const slot = this.slot;
    if (slot === undefined || content.length > QUEUED_FILE_MAX) {
      this.replacing(rel, () => writeFileAt(dirfd, rel, content, createMode, flags, e.uid, e.gid, e.mode, atime, e.mtime, this.state.root));
    } else {
      const id = this.queuedRels.length;
      const failed = this.replacing(rel, () => writeFileQueued(slot, dirfd, rel, content, createMode, flags, e.uid, e.gid, e.mode, atime, e.mtime, id, this.state.root));
      this.queuedNames.push(e.path);
      this.queuedRels.push(rel);
      if (failed) this.drain(false);
    }
    this.bytes += e.size;
    this.state.markWritten(rel);
    return rel;
  }

  /**
   * Where a member goes: its real path relative to the root, its parent
   * directories resolved (or created). Undefined when the member was fully
   * handled here (the layer root, whiteouts, AUFS metadata).
   */
  private locate(e: TarEntry): string | undefined {
    this.entries++;
    const comps = entryComponents(e.path);
    if (comps.length === 0) {
      this.layerRoot(e);
      return undefined;
    }
    // AUFS bookkeeping at the top (.wh..wh.plnk, .wh..wh.aufs): skipped, like docker.
    const plain = this.opts.whiteouts === 'none';
    if (!plain && comps[0].startsWith(WHITEOUT_META_PREFIX) && !(comps.length === 1 && comps[0] === OPAQUE_MARKER)) return undefined;
    const base = comps[comps.length - 1];
    if (!plain && base.charCodeAt(0) === 0x2e) {
      const wh = classifyWhiteout(base);
      if (wh) {
        this.whiteout(e, comps, wh);
        return undefined;
      }
    }
    const parent = this.parentDir(comps, e.path);
    this.parent = parent;
    return parent === '' ? base : parent + '/' + base;
  }

  /** The layer root, open once as a directory: native calls work below it (see writeFileQueued). */
  private rootFd(): number {
    if (this.dirfd < 0) this.dirfd = fs.openSync(this.state.root, O_PATH | O_DIRECTORY);
    return this.dirfd;
  }

  /** Where the content of the member being read lands (relative to the root); undefined when it is not stored. */
  get contentPath(): string | undefined {
    return this.fd >= 0 ? this.fileRel : undefined;
  }

  data(chunk: Buffer): void {
    if (this.fd < 0) return; // content of a skipped member (a whiteout marker, AUFS metadata)
    let off = 0;
    while (off < chunk.length) off += fs.writeSync(this.fd, chunk, off, chunk.length - off);
  }

  end(): void {
    if (this.fd < 0) return;
    const fd = this.fd;
    this.fd = -1;
    const e = this.fileEntry as TarEntry;
    finishFile(fd, this.fileAbs, e, this.fileChown, this.fileChmod);
    this.bytes += e.size;
    this.fileEntry = undefined;
  }

  /** Waits for the queued files; throws the first failure among them, naming its member. */
  private drain(release: boolean): void {
    const slot = this.slot;
    if (slot === undefined || slot < 0) return;
    if (release) this.slot = undefined;
    const names = this.queuedNames;
    const rels = this.queuedRels;
    this.queuedNames = [];
    this.queuedRels = [];
    const failure = fileQueueDrain(slot, release, (id) => this.state.abs(rels[id] ?? ''));
    if (failure === undefined) return;
    this.failedEntry = names[failure.id];
    throw failure.error;
  }

  /** After the last entry: the queued files, then directory times, now that nothing will be created inside them. */
  finish(): void {
    this.drain(false);
    for (const [rel, [atime, mtime]] of this.state.dirTimes) fs.lutimesSync(this.state.abs(rel), atime, mtime);
  }

  /** At the end, success or not: release the open file, if any, and the root's descriptor. */
  abort(): void {
    // Every queued file is finished (and closed) before the caller may delete dest; the slot is freed.
    try {
      this.drain(true);
    } catch {
      // already failing, or finish() reported it
    }
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
    if (this.dirfd >= 0) fs.closeSync(this.dirfd);
    this.dirfd = -1;
  }

  private parentDir(comps: string[], name: string): string {
    const n = comps.length - 1;
    if (n === 0) return '';
    let key = comps[0];
    for (let i = 1; i < n; i++) key += '/' + comps[i];
    if (this.state.dirs.has(key)) return key;
    return resolveDirInRoot(this.state, comps, n, {create: true, name}) as string;
  }

  /** Removes what is at rel so a new member can take its place. */
  private clear(rel: string): void {
    const st = fs.lstatSync(this.state.abs(rel));
    this.state.remove(rel, st);
  }

  private openFile(parent: string, rel: string, e: TarEntry): void {
    const abs = this.state.abs(rel);
    // Plain permission bits the umask leaves alone are set right by open(2)
    // itself; setuid/setgid/sticky must wait for the chown, which clears them.
    const plain = (e.mode & 0o7000) === 0 && (e.mode & this.state.umask) === 0;
    const mode = plain ? e.mode : 0o600;
    const fd = this.replacing(rel, () => fs.openSync(abs, CREATE_FLAGS, mode));
    this.fileChmod = !plain;
    this.fileChown = !(this.rootIds && e.uid === 0 && e.gid === 0 && !this.state.setgidDirs.has(parent));
    this.fd = fd;
    this.fileAbs = abs;
    this.fileRel = rel;
    this.fileEntry = e;
  }

  private dir(rel: string, e: TarEntry): void {
    const abs = this.state.abs(rel);
    try {
      fs.mkdirSync(abs, 0o700);
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw err;
      const st = fs.lstatSync(abs);
      if (!st.isDirectory()) {
        this.state.remove(rel, st);
        fs.mkdirSync(abs, 0o700);
      }
    }
    applyNodeMetadata(abs, e, false);
    this.state.dirs.add(rel);
    if (e.mode & S_ISGID) this.state.setgidDirs.add(rel);
    else this.state.setgidDirs.delete(rel);
    this.state.dirTimes.set(rel, [atimeOf(e), e.mtime]);
  }

  private symlink(rel: string, e: TarEntry): void {
    // The target is data: it may point anywhere, because nothing in this
    // extractor ever follows it out of the root (see scoped-resolve.ts).
    if (e.linkpath === '') throw entryError(e.path, 'symlink with an empty target');
    if (e.xattrs === undefined) {
      // One native call: symlinkat + lchown (unless creation already gave the
      // right owner, as for files) + lutimes, relative to the root's descriptor.
      const flags = this.rootIds && e.uid === 0 && e.gid === 0 && !this.state.setgidDirs.has(this.parent) ? 0 : WRITE_FILE.CHOWN;
      const dirfd = this.rootFd();
      const atime = atimeOf(e);
      this.replacing(rel, () => symlinkAt(dirfd, e.linkpath, rel, flags, e.uid, e.gid, atime, e.mtime, this.state.root));
      return;
    }
    const abs = this.state.abs(rel);
    this.replacing(rel, () => fs.symlinkSync(e.linkpath, abs));
    applySymlinkMetadata(abs, e);
  }

  private hardlink(rel: string, e: TarEntry): void {
    const target = checkHardlinkTarget(this.state, e.linkpath, e.path);
    if (target === rel) return; // a link to itself is already in place
    const abs = this.state.abs(rel);
    const from = this.state.abs(target);
    this.replacing(rel, () => fs.linkSync(from, abs));
  }

  private node(rel: string, e: TarEntry): void {
    assertDeviceAllowed(e.type, this.opts.allowDevices, e.path);
    const kind = e.type === 'char' ? S_IFCHR : e.type === 'block' ? S_IFBLK : S_IFIFO;
    const abs = this.state.abs(rel);
    this.replacing(rel, () => mknod(abs, kind | (e.mode & 0o777), e.devmajor, e.devminor));
    applyNodeMetadata(abs, e, true);
  }

  /**
   * make() creates rel; a name already there (an earlier member, replaced as
   * tar does) is cleared and make() runs once more.
   */
  private replacing<T>(rel: string, make: () => T): T {
    try {
      return make();
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw err;
      this.clear(rel);
      return make();
    }
  }

  /** The "./" member: only a directory may describe the root, and only its metadata is applied. */
  private layerRoot(e: TarEntry): void {
    if (e.type !== 'dir') throw entryError(e.path, `a ${e.type} cannot replace the layer root`);
    applyNodeMetadata(this.state.root, e, false);
    if (e.mode & S_ISGID) this.state.setgidDirs.add('');
    else this.state.setgidDirs.delete('');
    this.state.dirTimes.set('', [atimeOf(e), e.mtime]);
  }

  private whiteout(e: TarEntry, comps: string[], wh: Whiteout): void {
    if (wh.kind === 'aufs-meta') return;
    if (wh.kind === 'invalid') throw entryError(e.path, 'invalid whiteout name');
    const overlay = this.opts.whiteouts === 'overlay';
    // Overlay mode creates the parents (the marker must sit in them); apply mode
    // has nothing to delete under a missing parent. A parent that is itself a
    // whiteout (".wh.foo" then "foo/.wh.bar") is ignored, as containers/storage does.
    const parent = resolveDirInRoot(this.state, comps, comps.length - 1, {create: overlay, name: e.path, nonDirIsMissing: true});
    if (parent === undefined) return;
    if (wh.kind === 'opaque') {
      if (overlay) writeOverlayOpaque(this.state, parent);
      else applyOpaqueWhiteout(this.state, parent);
    } else if (overlay) {
      writeOverlayWhiteout(this.state, parent, wh.target, e);
    } else {
      applyDeleteWhiteout(this.state, parent, wh.target);
    }
  }
}
