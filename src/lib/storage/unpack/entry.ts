/**
 * One archive member as the parser hands it to the writer: every extension
 * (PAX, GNU long names) already folded in, numbers already validated.
 */
export type EntryType = 'file' | 'hardlink' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo';

export interface TarEntry {
  /** Member name exactly as archived (may be absolute or hold `..`; the writer cleans it). */
  path: string;
  type: EntryType;
  /** Symlink target or hardlink target name; '' for other types. */
  linkpath: string;
  /** Bytes of data that follow (regular files only; 0 for every other type). */
  size: number;
  /** Permission bits including setuid/setgid/sticky (0o7777). */
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch, possibly fractional (PAX) or negative. */
  mtime: number;
  /** From PAX `atime` when present. */
  atime: number | undefined;
  devmajor: number;
  devminor: number;
  /** Extended attributes from SCHILY.xattr.* / LIBARCHIVE.xattr.* records. */
  xattrs: Map<string, Buffer> | undefined;
}
