/**
 * Consistency of a skiff store as seen from outside: every image record's
 * layers and blobs exist, every layer directory is complete, nothing is
 * mounted under the store. Returns the problems found (empty when sound).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export function storeProblems(root: string): string[] {
  const problems: string[] = [];
  const index = path.join(root, 'images', 'images.json');
  let images: Array<{id: string; layers: string[]; configDigest: string; manifestDigest: string}> = [];
  if (fs.existsSync(index)) {
    try {
      images = JSON.parse(fs.readFileSync(index, 'utf8')).images;
    } catch (err) {
      problems.push(`images.json unreadable: ${(err as Error).message}`);
    }
  }
  const layersDir = path.join(root, 'layers');
  const layerNames = fs.existsSync(layersDir) ? fs.readdirSync(layersDir) : [];
  for (const n of layerNames) {
    const rec = path.join(layersDir, n, 'layer.json');
    if (!fs.existsSync(rec)) {
      problems.push(`layer ${n} has no record`);
      continue;
    }
    const r = JSON.parse(fs.readFileSync(rec, 'utf8'));
    if (r.complete !== true) problems.push(`layer ${n} not complete`);
    if (!fs.existsSync(path.join(layersDir, n, 'diff'))) problems.push(`layer ${n} has no diff`);
  }
  for (const img of images) {
    for (const l of img.layers) if (!layerNames.includes(l.slice(7))) problems.push(`image ${img.id.slice(0, 12)} needs missing layer ${l.slice(7, 19)}`);
    for (const b of [img.configDigest, img.manifestDigest]) {
      if (!fs.existsSync(path.join(root, 'blobs', 'sha256', b.slice(7)))) problems.push(`image ${img.id.slice(0, 12)} needs missing blob ${b.slice(7, 19)}`);
    }
  }
  const mounts = fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m) => m && m.startsWith(root + '/'));
  for (const m of mounts) problems.push(`leaked mount ${m}`);
  return problems;
}

/** Leftover temp entries under root/tmp (partial layers, interrupted removals). */
export function tmpLeftovers(root: string): string[] {
  const t = path.join(root, 'tmp');
  return fs.existsSync(t) ? fs.readdirSync(t) : [];
}
