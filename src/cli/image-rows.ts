/**
 * The rows `skiff images` prints and the JSON it emits, shaped as podman's
 * (one table row per repository:tag, one JSON object per image).
 */
import type {ImageRecord} from '../lib/image/store';
import {humanSize, timeAgo} from '../lib/util/human';

export interface ImageRow {
  ID: string;
  Id: string;
  Repository: string;
  Tag: string;
  Digest: string;
  CreatedSince: string;
  CreatedAt: string;
  Created: number;
  Size: string;
  VirtualSize: string;
  SharedSize: string;
  Containers: number;
  Labels: Record<string, string>;
  Names: string[];
  RepoTags: string[];
  RepoDigests: string[];
  Dangling: boolean;
  ReadOnly: boolean;
  History: string[];
}

/** Go's time.Time String() form, which podman prints for CreatedAt: "2006-01-02 15:04:05 +0000 UTC". */
export function goTimeString(iso: string): string {
  const d = new Date(iso);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000 UTC`;
}

function splitName(name: string): {repo: string; tag: string} {
  const i = name.lastIndexOf(':');
  return i > name.lastIndexOf('/') ? {repo: name.slice(0, i), tag: name.slice(i + 1)} : {repo: name, tag: '<none>'};
}

export function imageRows(img: ImageRecord, labels: Record<string, string>, containers: number, noTrunc: boolean): ImageRow[] {
  const base = {
    ID: noTrunc ? `sha256:${img.id}` : img.id.slice(0, 12),
    Id: img.id,
    Digest: img.digest,
    CreatedSince: timeAgo(img.created),
    CreatedAt: goTimeString(img.created),
    Created: Math.floor(Date.parse(img.created) / 1000),
    Size: humanSize(img.size),
    VirtualSize: humanSize(img.size),
    SharedSize: humanSize(0),
    Containers: containers,
    Labels: labels,
    Names: img.names,
    RepoTags: img.names,
    RepoDigests: img.repoDigests,
    Dangling: img.names.length === 0,
    ReadOnly: false,
    History: img.namesHistory ?? [],
  };
  if (img.names.length === 0) return [{...base, Repository: '<none>', Tag: '<none>'}];
  return img.names.map((n) => ({...base, Repository: splitName(n).repo, Tag: splitName(n).tag}));
}

/** podman images --format json: one object per image. */
export function imageJson(img: ImageRecord, labels: Record<string, string> | null, containers: number) {
  return {
    Id: img.id,
    ParentId: '',
    RepoTags: img.names.length ? img.names : null,
    RepoDigests: img.repoDigests,
    Size: img.size,
    SharedSize: 0,
    VirtualSize: img.size,
    Labels: labels && Object.keys(labels).length ? labels : null,
    Containers: containers,
    Names: img.names.length ? img.names : undefined,
    Digest: img.digest,
    History: img.namesHistory?.length ? img.namesHistory : undefined,
    Created: Math.floor(Date.parse(img.created) / 1000),
    CreatedAt: img.created,
  };
}
