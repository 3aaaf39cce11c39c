/**
 * OCI image-spec whiteout names (the AUFS convention): `.wh.NAME` deletes
 * NAME from the lower layers, `.wh..wh..opq` makes its directory opaque.
 * Pure naming rules; the two ways of applying them live in
 * whiteout-overlay.ts and whiteout-apply.ts.
 */
export const WHITEOUT_PREFIX = '.wh.';
export const WHITEOUT_META_PREFIX = '.wh..wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';

export type Whiteout =
  | {kind: 'opaque'}
  | {kind: 'delete'; target: string}
  /** Other `.wh..wh.*` names: AUFS bookkeeping (e.g. .wh..wh.plnk), skipped like docker does. */
  | {kind: 'aufs-meta'}
  /** `.wh.`, `.wh..`, `.wh...`: would whiteout the directory itself or its parent. */
  | {kind: 'invalid'};

/** Classifies a base name; undefined for ordinary names. */
export function classifyWhiteout(base: string): Whiteout | undefined {
  if (!base.startsWith(WHITEOUT_PREFIX)) return undefined;
  if (base === OPAQUE_MARKER) return {kind: 'opaque'};
  if (base.startsWith(WHITEOUT_META_PREFIX)) return {kind: 'aufs-meta'};
  const target = base.slice(WHITEOUT_PREFIX.length);
  if (target === '' || target === '.' || target === '..') return {kind: 'invalid'};
  return {kind: 'delete', target};
}

/** The xattr overlayfs reads to treat a lower directory as opaque. */
export const OVERLAY_OPAQUE_XATTR = 'trusted.overlay.opaque';
/** Its name for overlay mounted with `userxattr` (in a user namespace, where trusted.* cannot be set: rootless). */
export const OVERLAY_USER_OPAQUE_XATTR = 'user.overlay.opaque';

/**
 * overlayfs interprets trusted.overlay.* (opaque, redirect, metacopy, origin)
 * on lower layers; a layer must not smuggle them in as ordinary xattrs.
 */
export function isOverlayPrivateXattr(name: string): boolean {
  return name.startsWith('trusted.overlay.') || name.startsWith('user.overlay.');
}
