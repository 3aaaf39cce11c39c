/**
 * `skiff system check [--repair] [--quick]`: verify what on disk can be
 * verified and, with repair, put right what can be put right.
 *
 * Rules (docs/design.md "system check"):
 * - Work in progress is never a finding. Everything a live skiff process is
 *   doing is guarded by a lock it holds (layer-<chain> while building or
 *   pinning, images while recording, containers while naming, container-<id>
 *   while changing a container, volume-<name>); check looks at an object only
 *   while it holds (or can try-take) that lock, and skips it otherwise.
 * - A finding is one line: "<object>: <problem>" and, after a repair, what
 *   was done. Repairs only remove what is broken or unreferenced, unmount
 *   what nothing uses, and settle container records to what the kernel says
 *   (exited, unmounted); they never delete a sound image or container.
 * - Layer contents cannot be re-hashed against their diff IDs (the tarball
 *   is not kept); what is verified is the chain: each image's config diff IDs
 *   give its chain IDs, each layer's record names that diff ID and a parent
 *   that is present, and its diff/ directory exists.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {createHash} from 'node:crypto';
import type {Paths} from '../state/paths';
import {deleteOnRelease, tryLockFile, withLock} from '../state/lock';
import {isTempName, readJsonIfExists, writeJsonAtomic, ensureDir} from '../state/atomic';
import {removeTree} from '../state/remove-tree';
import type {ImageService} from '../image/service';
import type {ImageRecord} from '../image/store';
import {LIVE, type ContainerService} from '../container/service';
import {chainIds, decodeConfig, digestHex} from '../image/manifest';
import {containerPaths} from '../container/prepare';
import {processAlive} from '../container/boot';
import {mountPoints} from '../storage/overlay';
import {umount2, MNT} from '../util/native';
import {netnsDir, removeNetns} from '../network/netns';
import {slirpDir, slirpProcesses, stopSlirp} from '../network/slirp';
import {pastaDir, pastaProcesses, stopPasta} from '../network/pasta';
import type {ContainerNetState} from '../network/types';
import {orphaned, type RuleSet} from '../network/firewall';
import {messageOf} from '../util/errors';
import {log} from '../util/log';
import type {LayerRecord} from '../storage/layers';

export interface CheckOptions {
  repair?: boolean;
  /** Skip re-hashing blobs (existence only). */
  quick?: boolean;
  /** With repair: also remove containers whose image is damaged or gone (podman's --force). */
  force?: boolean;
}

export interface Finding {
  /** "layer 1a2b3c4d5e6f", "image ...", "container NAME (ID)", "mount PATH", "tmp NAME"... */
  object: string;
  problem: string;
  /** What the repair did; undefined when not repaired (check only, or not repairable). */
  repaired?: string;
  /** Set when --repair was asked but this cannot be repaired automatically. */
  unrepairable?: string;
}

export interface CheckReport {
  findings: Finding[];
  /** Findings still standing (not repaired). */
  remaining: number;
}

const HEX64 = /^[0-9a-f]{64}$/;
/** How long after conmon records an exit its cleanup counts as still in progress. */
const PENDING_CLEANUP_MS = 30_000;
const short = (hex: string) => digestHex(hex).slice(0, 12);

export class SystemChecker {
  private readonly findings: Finding[] = [];

  constructor(
    private readonly paths: Paths,
    private readonly images: ImageService,
    private readonly containers: ContainerService,
    private readonly opts: CheckOptions = {},
  ) {}

  private add(f: Finding): Finding {
    this.findings.push(f);
    return f;
  }

  /** Run fn as the repair of f; record what it did or why it failed. */
  private async fix(f: Finding, fn: () => Promise<string | undefined> | string | undefined): Promise<void> {
    if (!this.opts.repair) return;
    try {
      const done = await fn();
      if (done) f.repaired = done;
    } catch (err) {
      f.unrepairable = `repair failed: ${messageOf(err)}`;
    }
  }

  async run(): Promise<CheckReport> {
    if (this.opts.repair && this.opts.force) await this.removeDamagedContainers();
    // Containers first: settling them unmounts their rootfs and frees what they pinned.
    await this.checkContainers();
    await this.checkImagesAndLayers();
    this.checkVolumes();
    this.checkTemp();
    this.checkRunroot();
    await this.checkNetns();
    await this.checkNetworkRules();
    await this.checkUserNetworks();
    this.checkMounts();
    this.sweepLockFiles();
    this.checkLocks();
    const remaining = this.findings.filter((f) => !f.repaired).length;
    return {findings: this.findings, remaining};
  }

  // --- containers -------------------------------------------------------------

  private async checkContainers(): Promise<void> {
    const store = this.containers.store;
    const imageIds = new Set(safe(() => this.images.list(), []).map((i) => i.id));
    const volumeNames = new Set(this.containers.volumes.list().map((v) => v.name));
    for (const id of store.ids()) {
      // A container another process is changing right now is not judged.
      const lock = tryLockFile(this.paths.lockFile(`container-${id}`));
      if (!lock) continue;
      let obj = `container ${id.slice(0, 12)}`;
      try {
        let rec;
        try {
          rec = store.read(id);
        } catch (err) {
          this.add({object: obj, problem: `record unreadable: ${messageOf(err)}`, unrepairable: this.opts.repair ? 'inspect it by hand or remove it with rm -f' : undefined});
          continue;
        }
        if (!rec) {
          // A create killed before config.json: the create holds `containers` while writing, so check under it.
          const names = tryLockFile(this.paths.lockFile('containers'));
          if (!names) continue;
          try {
            // Finished or removed meanwhile. A config.json that does not parse was torn by a power loss
            // (--rm containers' records are not fsynced, store.ts): the store reads it as no record.
            const torn = fs.existsSync(store.configFile(id));
            if (!fs.existsSync(store.dir(id)) || (torn && store.read(id))) continue;
            const f = this.add({object: obj, problem: torn ? 'unreadable record (config.json torn, by a power loss?)' : 'incomplete record (a create was interrupted)'});
            await this.fix(f, () => {
              store.removeRecord(id);
              return 'removed';
            });
          } finally {
            names.release();
          }
          continue;
        }
        obj = `container ${rec.config.name} (${id.slice(0, 12)})`;
        const observed = this.containers.observed(rec);
        const st = rec.state;
        const p = containerPaths(this.paths, id);
        if (!imageIds.has(rec.config.image)) {
          this.add({object: obj, problem: `its image ${rec.config.image.slice(0, 12)} is not in the store`, unrepairable: this.opts.repair ? 'remove the container with rm -f, or repair with --force' : undefined});
        }
        for (const m of rec.config.mounts) {
          if (m.type === 'volume' && m.name && !volumeNames.has(m.name)) {
            this.add({object: obj, problem: `its volume ${m.name} does not exist`, unrepairable: this.opts.repair ? 'create the volume or remove the container' : undefined});
          }
        }
        if (st.status === 'removing') {
          const f = this.add({object: obj, problem: 'stuck in state "removing" (a removal was interrupted)'});
          await this.fix(f, async () => {
            lock.release();
            await this.containers.settle(id);
            return 'removed';
          });
          continue;
        }
        // initialized (`skiff init`): conmon holds the runtime's created container, mounted and on its network, as a start would.
        const alive = LIVE.has(observed.status);
        if (alive) {
          if (observed.status === 'running' && st.status === 'stopping') {
            const f = this.add({object: obj, problem: 'stuck in state "stopping" (the stop was interrupted; the container still runs)'});
            await this.fix(f, async () => {
              lock.release();
              await this.containers.settle(id);
              return 'reset to running';
            });
            continue;
          }
          if (!fs.existsSync(p.upper) || !fs.existsSync(p.work)) this.add({object: obj, problem: `${observed.status}, but its upper/work directories are missing`, unrepairable: this.opts.repair ? 'stop and remove it' : undefined});
          if (!fs.existsSync(p.userdata)) this.add({object: obj, problem: `${observed.status}, but its userdata directory is missing`, unrepairable: this.opts.repair ? 'stop and remove it' : undefined});
          if (!mountPoints().includes(canonical(p.rootfs))) this.add({object: obj, problem: `${observed.status}, but its rootfs is not mounted`, unrepairable: this.opts.repair ? 'stop and start it' : undefined});
          continue;
        }
        if (observed.status !== st.status) {
          // conmon recorded the exit moments ago: its exit command (cleanup) is on its way.
          const exitFile = path.join(p.exitDir, id);
          const age = Date.now() - safe(() => fs.statSync(exitFile).mtimeMs, 0);
          if (age < PENDING_CLEANUP_MS) continue;
          const f = this.add({object: obj, problem: `recorded as ${st.status} but not running (${observed.error || 'its process is gone'})`});
          await this.fix(f, async () => {
            lock.release();
            await this.containers.settle(id);
            return 'recorded as exited and cleaned up';
          });
          continue;
        }
        if (st.mounted) {
          const f = this.add({object: obj, problem: 'not running, but a start or exit was interrupted (its rootfs may still be mounted)'});
          await this.fix(f, async () => {
            lock.release();
            await this.containers.settle(id);
            return 'unmounted and cleaned up';
          });
          continue;
        }
        if (fs.existsSync(path.join(p.bundle, 'config.json'))) {
          const f = this.add({object: obj, problem: `not running, but its runtime bundle remains in ${p.bundle}`});
          await this.fix(f, async () => {
            lock.release();
            await this.containers.settle(id, {force: true});
            return 'cleaned up';
          });
        }
      } finally {
        lock.release();
      }
    }
  }

  /** What is wrong with one image record (empty when sound). `names` collects names to find duplicates. */
  private imageProblems(img: ImageRecord, layers: Map<string, LayerRecord>, names: Map<string, string>): string[] {
    const problems: string[] = [];
    if (`sha256:${img.id}` !== img.configDigest) problems.push(`its ID does not match its config digest ${img.configDigest}`);
    let config;
    for (const [what, d] of [['config', img.configDigest], ['manifest', img.manifestDigest]] as const) {
      const bytes = this.images.blobs.getIfExists(d);
      if (!bytes) {
        problems.push(`its ${what} blob ${short(d)} is missing`);
        continue;
      }
      if (!this.opts.quick && `sha256:${createHash('sha256').update(bytes).digest('hex')}` !== d) {
        problems.push(`its ${what} blob ${short(d)} does not match its digest`);
        continue;
      }
      if (what === 'config') config = safe(() => decodeConfig(bytes), undefined);
    }
    if (config) {
      const want = chainIds(config.rootfs.diff_ids);
      if (want.join() !== img.layers.join()) problems.push("its layers do not match its config's diff IDs");
      config.rootfs.diff_ids.forEach((diffId, i) => {
        const l = layers.get(want[i]);
        if (!l) problems.push(`its layer ${short(want[i])} is missing`);
        else if (l.diffId !== diffId) problems.push(`its layer ${short(want[i])} records diff ID ${l.diffId}, the config says ${diffId}`);
      });
    } else {
      for (const l of img.layers) if (!layers.has(l)) problems.push(`its layer ${short(l)} is missing`);
    }
    for (const n of img.names) {
      if (names.has(n)) problems.push(`its name ${n} is also taken by image ${names.get(n)!.slice(0, 12)}`);
      names.set(n, img.id);
    }
    return problems;
  }

  /** IDs of images that are damaged (or missing) as a container would see them: for --force. */
  private damagedImageIds(): Set<string> {
    const layers = new Map<string, LayerRecord>();
    for (const l of this.images.layers.list()) layers.set(l.chainId, l);
    const names = new Map<string, string>();
    const out = new Set<string>();
    for (const img of safe(() => this.images.store.list(), [] as ImageRecord[])) if (this.imageProblems(img, layers, names).some((p) => !p.includes('is also taken by'))) out.add(img.id);
    return out;
  }

  /** --repair --force: containers whose image is damaged or gone are removed, so the image can be repaired. */
  private async removeDamagedContainers(): Promise<void> {
    const damaged = this.damagedImageIds();
    const present = new Set(safe(() => this.images.store.list(), [] as ImageRecord[]).map((i) => i.id));
    for (const rec of this.containers.store.list()) {
      const why = damaged.has(rec.config.image) ? 'its image is damaged' : !present.has(rec.config.image) ? 'its image is not in the store' : undefined;
      if (!why) continue;
      const f = this.add({object: `container ${rec.config.name} (${rec.config.id.slice(0, 12)})`, problem: why});
      const [report] = await this.containers.remove([rec.config.id], {force: true, timeout: 0});
      if (report?.error) f.unrepairable = `removing it failed: ${report.error.message}`;
      else f.repaired = 'container removed (--force)';
    }
  }

  // --- images, layers, blobs ----------------------------------------------------------

  private async checkImagesAndLayers(): Promise<void> {
    // Under `images`: no pull records an image or writes a blob meanwhile.
    await withLock(this.paths, 'images', async () => {
      let images: ImageRecord[];
      try {
        images = this.images.store.list();
      } catch (err) {
        const f = this.add({object: 'images.json', problem: `unreadable: ${messageOf(err)}`});
        await this.fix(f, () => {
          const aside = `${this.paths.imagesIndex}.corrupt-${Date.now()}`;
          fs.renameSync(this.paths.imagesIndex, aside);
          writeJsonAtomic(this.paths.imagesIndex, {version: 1, images: []});
          return `moved aside to ${aside}; image records reset`;
        });
        images = [];
      }
      const layers = new Map<string, LayerRecord>();
      for (const l of this.images.layers.list()) layers.set(l.chainId, l);

      // Images.
      const broken = new Set<string>();
      const names = new Map<string, string>();
      for (const img of images) {
        const obj = `image ${img.id.slice(0, 12)}${img.names[0] ? ` (${img.names[0]})` : ''}`;
        const problems = this.imageProblems(img, layers, names);
        if (problems.length === 0) continue;
        broken.add(img.id);
        const users = this.containers.usingImage(img.id);
        for (const problem of problems) {
          this.add({object: obj, problem, unrepairable: this.opts.repair && users.length ? `used by container ${users[0].slice(0, 12)}: remove it first, or repair with --force` : undefined});
        }
      }
      if (this.opts.repair && broken.size) {
        const drop = [...broken].filter((id) => this.containers.usingImage(id).length === 0);
        if (drop.length) {
          const keep = images.filter((i) => !drop.includes(i.id));
          ensureDir(this.paths.imagesDir);
          writeJsonAtomic(this.paths.imagesIndex, {version: 1, images: keep});
          for (const f of this.findings) if (drop.some((id) => f.object.startsWith(`image ${id.slice(0, 12)}`))) f.repaired = 'image record removed (pull it again)';
          images = keep;
        }
      }

      // Layer directories.
      const used = new Set(images.flatMap((i) => i.layers));
      let entries: string[] = [];
      try {
        entries = fs.readdirSync(this.paths.layersDir);
      } catch {
        /* no layers yet */
      }
      for (const n of entries) {
        const obj = `layer ${n.slice(0, 12)}`;
        const dir = path.join(this.paths.layersDir, n);
        if (!HEX64.test(n)) {
          const f = this.add({object: `layers/${n}`, problem: 'not a layer (unexpected entry)'});
          await this.fix(f, () => (removeTree(dir), 'removed'));
          continue;
        }
        const lock = tryLockFile(this.paths.lockFile(`layer-${n}`));
        if (!lock) continue; // being built, pinned by a pull, or removed
        try {
          if (!fs.existsSync(dir)) continue; // removed while we looked
          const rec = safe(() => readJsonIfExists<LayerRecord>(path.join(dir, 'layer.json')), undefined);
          let problem: string | undefined;
          if (!rec) problem = 'no readable layer.json record';
          else if (rec.complete !== true) problem = 'record not marked complete';
          else if (rec.chainId !== `sha256:${n}`) problem = `record names chain ID ${rec.chainId}`;
          else if (!fs.existsSync(path.join(dir, 'diff'))) problem = 'its diff directory is missing';
          else if (rec.parent && !fs.existsSync(this.paths.layerRecord(digestHex(rec.parent)))) problem = `its parent ${short(rec.parent)} is missing`;
          else if (!used.has(rec.chainId)) problem = 'no image uses it';
          if (!problem) continue;
          const f = this.add({object: obj, problem});
          if (used.has(`sha256:${n}`)) {
            if (this.opts.repair) f.unrepairable = 'an image still uses it: pull that image again or remove it';
            continue;
          }
          await this.fix(f, () => {
            ensureDir(this.paths.tmpDir);
            const trash = path.join(this.paths.tmpDir, `removing-${n}-${Math.random().toString(16).slice(2, 10).padEnd(8, '0')}`);
            fs.renameSync(dir, trash);
            removeTree(trash);
            return 'removed';
          });
        } finally {
          lock.release();
        }
      }

      // Blobs: referenced ones were verified above; unreferenced ones and stray temp files go.
      const usedBlobs = new Set(images.flatMap((i) => [i.configDigest, i.manifestDigest, i.digest]));
      let blobFiles: string[] = [];
      try {
        blobFiles = fs.readdirSync(this.paths.blobsDir);
      } catch {
        /* none */
      }
      for (const n of blobFiles) {
        const file = path.join(this.paths.blobsDir, n);
        let problem: string | undefined;
        if (isTempName(n)) {
          const pid = Number(/\.tmp-(\d+)-/.exec(n)?.[1]);
          if (!processAlive(pid)) problem = 'a partial blob write left by a dead process';
        } else if (!HEX64.test(n)) problem = 'not a blob (unexpected entry)';
        else if (!usedBlobs.has(`sha256:${n}`)) problem = 'no image uses it';
        if (!problem) continue;
        const f = this.add({object: `blob ${n.slice(0, 24)}`, problem});
        await this.fix(f, () => (fs.rmSync(file, {force: true}), 'removed'));
      }
    });
  }

  // --- volumes ---------------------------------------------------------------------------

  private checkVolumes(): void {
    let names: string[] = [];
    try {
      names = fs.readdirSync(this.paths.volumesDir);
    } catch {
      return;
    }
    for (const n of names) {
      const lock = tryLockFile(this.paths.lockFile(`volume-${n}`));
      if (!lock) continue;
      try {
        if (!fs.existsSync(path.join(this.paths.volumesDir, n))) continue; // removed while we looked
        const rec = path.join(this.paths.volumesDir, n, 'volume.json');
        let ok = false;
        try {
          ok = readJsonIfExists(rec) !== undefined;
        } catch {
          ok = false;
        }
        if (ok) continue;
        const f = this.add({object: `volume ${n}`, problem: 'no readable volume.json record'});
        const inUse = this.containers.store.list().some((r) => r.config.mounts.some((m) => m.type === 'volume' && m.name === n));
        if (inUse) {
          if (this.opts.repair) f.unrepairable = 'a container refers to it';
          continue;
        }
        if (this.opts.repair) {
          removeTree(path.join(this.paths.volumesDir, n));
          f.repaired = 'removed';
        }
      } finally {
        lock.release();
      }
    }
  }

  // --- root/tmp ---------------------------------------------------------------------------

  private checkTemp(): void {
    let names: string[] = [];
    try {
      names = fs.readdirSync(this.paths.tmpDir);
    } catch {
      return;
    }
    for (const n of names) {
      const full = path.join(this.paths.tmpDir, n);
      const m = /^(?:layer|removing)-([0-9a-f]{64})-[0-9a-f]{8}$/.exec(n) ?? /^(?:removing-)?volume-(.+)-[0-9a-f]{8}$/.exec(n);
      let lockName: string | undefined;
      if (m) lockName = n.includes('volume-') && !/^(?:layer|removing)-[0-9a-f]{64}-/.test(n) ? `volume-${m[1]}` : `layer-${m[1]}`;
      let lock;
      if (lockName) {
        lock = tryLockFile(this.paths.lockFile(lockName));
        if (!lock) continue; // its builder still runs
      } else if (/^(?:overlay-probe|commit)-(\d+)-/.test(n)) {
        if (processAlive(Number(/^(?:overlay-probe|commit)-(\d+)-/.exec(n)![1]))) continue; // its prober or committer still runs
      } else {
        // Unknown scratch: give whoever made it time to finish.
        const age = Date.now() - safe(() => fs.lstatSync(full).mtimeMs, Date.now());
        if (age < 10_000) continue;
      }
      try {
        if (!fs.existsSync(full)) continue; // finished (renamed into place) while we looked
        const f = this.add({object: `tmp ${n}`, problem: 'left over by an interrupted operation'});
        if (this.opts.repair) {
          for (const mp of mountPoints().filter((x) => x.startsWith(canonical(full) + '/')).sort().reverse()) detach(mp);
          removeTree(full);
          f.repaired = 'removed';
        }
      } finally {
        lock?.release();
      }
    }
  }

  // --- runroot leftovers -------------------------------------------------------------------

  private checkRunroot(): void {
    const known = new Set(this.containers.store.ids());
    let dirs: string[] = [];
    try {
      dirs = fs.readdirSync(this.paths.runContainersDir);
    } catch {
      /* none */
    }
    for (const id of dirs) {
      if (known.has(id)) continue;
      const lock = tryLockFile(this.paths.lockFile(`container-${id}`));
      if (!lock) continue;
      try {
        const dir = path.join(this.paths.runContainersDir, id);
        // Listed before a removal took its last step (record, then this directory) and let go of the lock.
        if (!fs.existsSync(dir)) continue;
        if (fs.existsSync(this.containers.store.configFile(id)) || fs.existsSync(this.containers.store.dir(id))) continue;
        const f = this.add({object: `runroot container ${id.slice(0, 12)}`, problem: 'runtime files of a container that no longer exists'});
        if (this.opts.repair) {
          for (const mp of mountPoints().filter((x) => x === canonical(path.join(dir, 'rootfs')) || x.startsWith(canonical(dir) + '/')).sort().reverse()) detach(mp);
          removeTree(dir);
          f.repaired = 'removed';
        }
      } finally {
        lock.release();
      }
    }
    const exits = path.join(this.paths.runroot, 'exits');
    let files: string[] = [];
    try {
      files = fs.readdirSync(exits);
    } catch {
      /* none */
    }
    for (const id of files) {
      if (known.has(id) || !HEX64.test(id)) continue;
      // `known` was listed before: a container created since may have run and exited already.
      const lock = tryLockFile(this.paths.lockFile(`container-${id}`));
      if (!lock) continue;
      try {
        if (fs.existsSync(this.containers.store.dir(id)) || !fs.existsSync(path.join(exits, id))) continue;
        const f = this.add({object: `exit file ${id.slice(0, 12)}`, problem: 'exit code of a container that no longer exists'});
        if (this.opts.repair) {
          fs.rmSync(path.join(exits, id), {force: true});
          f.repaired = 'removed';
        }
      } finally {
        lock.release();
      }
    }
  }

  // --- network namespaces and leases ----------------------------------------------------

  /**
   * runroot/netns/<id> (an nsfs mount per container on a bridge network) and
   * the host-local leases under runroot/networks/ipam: a running container
   * keeps both; a stopped one whose exit cleanup never ran gets it now (CNI
   * DEL from its record); a removed one's are unmounted and released.
   */
  private async checkNetns(): Promise<void> {
    const dir = netnsDir(this.paths.runroot);
    let names: string[] = [];
    try {
      names = fs.readdirSync(dir);
    } catch {
      /* no bridge networking used yet */
    }
    for (const id of names) {
      const lock = tryLockFile(this.paths.lockFile(`container-${id}`));
      if (!lock) continue; // being started, connected or removed right now
      let settle = false;
      try {
        const file = path.join(dir, id);
        if (!fs.existsSync(file)) continue;
        const rec = safe(() => this.containers.store.read(id), undefined);
        if (rec) {
          const st = this.containers.observed(rec).status;
          if (LIVE.has(st)) continue;
          if (rec.state.net?.netns !== file) {
            const f = this.add({object: `container ${rec.config.name} (${id.slice(0, 12)})`, problem: 'not running, and a network namespace its record does not know remains'});
            await this.fix(f, () => (removeNetns(file), 'unmounted and removed'));
            continue;
          }
          const exitFile = path.join(containerPaths(this.paths, id).exitDir, id);
          if (Date.now() - safe(() => fs.statSync(exitFile).mtimeMs, 0) < PENDING_CLEANUP_MS) continue; // its exit cleanup is on its way
          const f = this.add({object: `container ${rec.config.name} (${id.slice(0, 12)})`, problem: 'not running, but its network (namespace, addresses, port rules) was not torn down'});
          if (this.opts.repair) {
            settle = true;
            f.repaired = 'network torn down';
          }
        } else {
          if (fs.existsSync(this.containers.store.dir(id))) continue; // a create in progress
          const f = this.add({object: `netns ${id.slice(0, 12)}`, problem: 'network namespace of a container that no longer exists'});
          await this.fix(f, () => (removeNetns(file), 'unmounted and removed'));
        }
      } finally {
        lock.release();
      }
      if (settle) {
        try {
          await this.containers.settle(id, {force: true});
        } catch (err) {
          const f = this.findings[this.findings.length - 1];
          f.repaired = undefined;
          f.unrepairable = `repair failed: ${messageOf(err)}`;
        }
      }
    }
    // Leases (host-local: a file per address holding the container ID) of containers that no longer exist.
    const ipam = path.join(this.paths.runroot, 'networks', 'ipam');
    let nets: string[] = [];
    try {
      nets = fs.readdirSync(ipam);
    } catch {
      return;
    }
    for (const net of nets) {
      let files: string[] = [];
      try {
        files = fs.readdirSync(path.join(ipam, net));
      } catch {
        continue;
      }
      for (const ip of files) {
        const file = path.join(ipam, net, ip);
        const id = /^([0-9a-f]{64})(?:\s|$)/.exec(safe(() => fs.readFileSync(file, 'utf8'), ''))?.[1];
        if (!id) continue;
        const lock = tryLockFile(this.paths.lockFile(`container-${id}`));
        if (!lock) continue;
        try {
          if (!fs.existsSync(file) || fs.existsSync(this.containers.store.dir(id))) continue;
          const f = this.add({object: `lease ${net}/${ip}`, problem: `held by container ${id.slice(0, 12)}, which no longer exists`});
          await this.fix(f, () => (fs.rmSync(file, {force: true}), 'released'));
        } finally {
          lock.release();
        }
      }
    }
  }

  /**
   * The per-network iptables rules (network/firewall.ts) of this store: a
   * rule set naming a network the store no longer has (or one of another
   * ID) is a leftover, removed by --repair; a network whose rules this
   * runroot recorded installing but which lacks some of them (flushed by
   * hand, a firewall reload) gets them reinstalled. A network whose rules
   * were never installed since boot is no finding: its first container
   * installs them. Rules of other stores are theirs to judge (the rules of
   * deleted stores go at the next install, firewall.ts).
   */
  private async checkNetworkRules(): Promise<void> {
    if (this.paths.rootless) return;
    const svc = this.containers.networks;
    const fw = svc.firewall;
    let sets: RuleSet[];
    try {
      sets = fw.list();
    } catch {
      return; // no iptables: nothing can have been installed
    }
    const own = () => ({owner: fw.owner, networks: svc.list()});
    for (const set of sets.filter((x) => x.owner === fw.owner && orphaned(x, own()))) {
      const lock = tryLockFile(this.paths.lockFile(`network-${set.name}`));
      if (!lock) continue; // being created or removed right now
      try {
        if (!orphaned(set, own())) continue;
        const f = this.add({object: `firewall rules of network ${set.name} (${set.id12})`, problem: `${set.rules.length} iptables rules of a network that no longer exists`});
        await this.fix(f, async () => (await fw.removeSets([set]), 'removed'));
      } finally {
        lock.release();
      }
    }
    for (const net of svc.list().filter((n) => n.driver === 'bridge' && fw.installedMark(n))) {
      if (fw.missing(net, sets).length === 0) continue;
      const lock = tryLockFile(this.paths.lockFile(`network-${net.name}`));
      if (!lock) continue;
      try {
        const missing = fw.missing(net);
        if (missing.length === 0) continue;
        const f = this.add({object: `network ${net.name}`, problem: `${missing.length} of its iptables rules (masquerade, forwarding) are missing`});
        await this.fix(f, async () => (await fw.install(net), 'reinstalled'));
      } finally {
        lock.release();
      }
    }
  }

  /**
   * runroot/slirp4netns and runroot/pasta: a helper process (found in /proc
   * by the API socket or pid file its command line names) or its files
   * belong to a live container whose record names them; any other is
   * stopped and removed (after checkNetns, which has already torn down the
   * network of containers that stopped).
   */
  private async checkUserNetworks(): Promise<void> {
    const kinds = [
      {
        name: 'slirp4netns',
        dir: slirpDir(this.paths.runroot),
        main: '.sock',
        running: (dir: string) => slirpProcesses(dir, {dir: true}).map((p) => p.socket),
        pids: (file: string) => slirpProcesses(file).map((p) => p.pid),
        owned: (net: ContainerNetState | undefined, file: string) => net?.slirp?.socket === file,
        stop: (file: string) => stopSlirp({pid: 0, socket: file, log: file.replace(/\.sock$/, '.log')}),
      },
      {
        name: 'pasta',
        dir: pastaDir(this.paths.runroot),
        main: '.pid',
        running: (dir: string) => pastaProcesses(dir).map((p) => p.pidFile),
        pids: (file: string) => pastaProcesses(path.dirname(file)).filter((p) => p.pidFile === file).map((p) => p.pid),
        owned: (net: ContainerNetState | undefined, file: string) => net?.pasta?.pidFile === file,
        stop: (file: string) => stopPasta({pid: 0, pidFile: file, log: file.replace(/\.pid$/, '.log')}),
      },
    ];
    for (const k of kinds) {
      const files = new Set<string>();
      try {
        for (const f of fs.readdirSync(k.dir)) files.add(path.join(k.dir, `${f.slice(0, f.indexOf('.') < 0 ? f.length : f.indexOf('.'))}${k.main}`));
      } catch {
        /* never used */
      }
      for (const f of k.running(k.dir)) files.add(f);
      for (const file of [...files].sort()) {
        const key = path.basename(file, k.main);
        const rec = safe(() => this.containers.store.list().find((r) => r.config.id.startsWith(key)), undefined);
        const lock = rec ? tryLockFile(this.paths.lockFile(`container-${rec.config.id}`)) : undefined;
        if (rec && !lock) continue; // being started or torn down right now
        try {
          const now = rec ? safe(() => this.containers.store.read(rec.config.id), undefined) : undefined;
          if (now && k.owned(now.state.net, file) && LIVE.has(this.containers.observed(now).status)) continue;
          const pids = k.pids(file);
          const f = this.add({object: `${k.name} ${key}`, problem: `${pids.length ? `process ${pids.join(', ')}` : 'files'} of ${now ? `container ${now.config.name}, which is not running` : 'a container that no longer exists'}`});
          await this.fix(f, async () => (await k.stop(file), 'stopped and removed'));
        } finally {
          lock?.release();
        }
      }
    }
  }

  // --- mounts -----------------------------------------------------------------------------

  /**
   * Mounts below the store that nothing running accounts for. A mount that
   * belongs to a container (its rootfs, its :O overlays, and whatever the
   * runtime mounts in its state directory runroot/runtime/<id>: runc 1.1
   * bind-mounts its own binary at runc.XXXXXX there for a moment while it
   * starts the container's init or an exec'd process) or a volume is
   * judged under that object's lock, on a fresh read: a start or a volume
   * mount in progress holds the lock, so it is skipped, never unmounted.
   * A mount that goes away by itself before it can be unmounted was work in
   * progress after all, not a finding.
   */
  private checkMounts(): void {
    const root = canonical(this.paths.root) + '/';
    const runroot = canonical(this.paths.runroot) + '/';
    const tmp = canonical(this.paths.tmpDir) + '/';
    const netns = canonical(netnsDir(this.paths.runroot)) + '/';
    const runCtrs = canonical(this.paths.runContainersDir) + '/';
    const ctrs = canonical(this.paths.containersDir) + '/';
    const runtimeState = canonical(this.paths.runtimeStateDir) + '/';
    const vols = canonical(this.paths.volumesDir) + '/';
    const candidates = mountPoints()
      .filter((mp) => (mp.startsWith(root) || mp.startsWith(runroot)) && !mp.startsWith(tmp) && !mp.startsWith(netns)) // probes in tmp: checkTemp; netns: checkNetns
      .sort()
      .reverse();
    for (const mp of new Set(candidates)) {
      const ctr = ownerId(mp, runCtrs) ?? ownerId(mp, ctrs) ?? ownerId(mp, runtimeState);
      const vol = ctr ? undefined : ownerId(mp, vols);
      const lockName = ctr ? `container-${ctr}` : vol ? `volume-${vol}` : undefined;
      const lock = lockName ? tryLockFile(this.paths.lockFile(lockName)) : undefined;
      if (lockName && !lock) continue; // being started, stopped or mounted right now
      try {
        if (!mountPoints().includes(mp)) continue;
        if (ctr) {
          const rec = safe(() => this.containers.store.read(ctr), undefined);
          const st = rec && this.containers.observed(rec).status;
          if (st && LIVE.has(st)) continue;
          // Exited moments ago: its cleanup (the foreground run or conmon's exit command) is on its way.
          const exitFile = path.join(containerPaths(this.paths, ctr).exitDir, ctr);
          if (rec && Date.now() - safe(() => fs.statSync(exitFile).mtimeMs, 0) < PENDING_CLEANUP_MS) continue;
        } else if (vol) {
          const rec = this.containers.volumes.get(vol);
          if (rec && rec.mountCount > 0 && mp === canonical(this.containers.volumes.mountpoint(vol))) continue;
        }
        if (!this.opts.repair) {
          this.add({object: `mount ${mp}`, problem: 'mounted, but nothing running uses it'});
          continue;
        }
        try {
          detach(mp);
          this.add({object: `mount ${mp}`, problem: 'mounted, but nothing running uses it', repaired: 'unmounted'});
        } catch (err) {
          // Unmounted meanwhile by whoever mounted it (a lock-free owner): nothing was wrong.
          if (!mountPoints().includes(mp)) continue;
          this.add({object: `mount ${mp}`, problem: 'mounted, but nothing running uses it', unrepairable: `unmount failed: ${messageOf(err)}`});
        }
      } finally {
        lock?.release();
      }
    }
  }

  // --- locks ---------------------------------------------------------------------------------

  /**
   * Deletes the lock files of containers, volumes and layers that no longer exist. They hold
   * no data, so this is housekeeping, not a finding, and it is done with or without --repair.
   * Removals delete their own (lock.ts deleteOnRelease); what remains is from stores written
   * before they did (one per container ever created), from a process killed between removing
   * a record and letting go of its lock, from a reader that locked a container being removed,
   * and from this check's own try-locks of leftovers. Each file is deleted only while held
   * (never re-created to be held: a remover may have just deleted it), and only if its
   * resource is absent then; a create takes a container's lock only once its record exists.
   */
  private sweepLockFiles(): void {
    const files = safe(() => fs.readdirSync(this.paths.locksDir), [] as string[]);
    const resource = (f: string): string | undefined => {
      let m = /^container-([0-9a-f]{64})\.lock$/.exec(f);
      if (m) return this.containers.store.dir(m[1]);
      m = /^layer-([0-9a-f]{64})\.lock$/.exec(f);
      if (m) return this.paths.layerDir(m[1]);
      m = /^volume-(.+)\.lock$/.exec(f);
      return m ? path.join(this.paths.volumesDir, m[1]) : undefined;
    };
    let removed = 0;
    for (const name of files) {
      const dir = resource(name);
      if (dir === undefined || fs.existsSync(dir)) continue;
      const file = path.join(this.paths.locksDir, name);
      let lock: ReturnType<typeof tryLockFile>;
      try {
        lock = tryLockFile(file, 'exclusive', {create: false});
      } catch (err) {
        log.debug(`system check: lock file ${name}: ${messageOf(err)}`); // housekeeping never fails the check
        continue;
      }
      if (!lock) continue; // in use, or deleted meanwhile
      try {
        if (fs.existsSync(dir)) continue;
        deleteOnRelease(file);
        removed++;
      } finally {
        lock.release();
      }
    }
    if (removed) log.debug(`system check: deleted ${removed} lock files of removed containers, volumes or layers`);
  }

  /** flock(2) locks die with their holder; a lock whose holder is gone would be a kernel surprise worth reporting. */
  private checkLocks(): void {
    let files: string[] = [];
    try {
      files = fs.readdirSync(this.paths.locksDir);
    } catch {
      return;
    }
    const inodes = new Map<number, string>();
    for (const f of files) {
      const st = safe(() => fs.statSync(path.join(this.paths.locksDir, f)), undefined);
      if (st) inodes.set(st.ino, f);
    }
    /** "<file> <pid>" of each store lock /proc/locks lists for a process that no longer exists. */
    const deadHolders = (): string[] => {
      const out: string[] = [];
      const locks = safe(() => fs.readFileSync('/proc/locks', 'utf8'), '');
      for (const line of locks.split('\n')) {
        // "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF"
        const f = line.trim().split(/\s+/);
        if (f[1] !== 'FLOCK' || f.length < 6) continue;
        const ino = Number(f[5].split(':')[2]);
        const file = inodes.get(ino);
        if (!file) continue;
        const pid = Number(f[4]);
        if (pid > 0 && !processAlive(pid) && fs.existsSync(`/proc/${pid}`) === false) out.push(`${file} ${pid}`);
      }
      return out;
    };
    const first = deadHolders();
    if (first.length === 0) return;
    // A holder that exited after /proc/locks was read released its locks as it went: only a
    // lock a second read still lists for the dead process is held by a descriptor outliving it.
    const again = new Set(deadHolders());
    for (const key of first.filter((k) => again.has(k))) {
      const file = key.slice(0, key.lastIndexOf(' '));
      const pid = key.slice(key.lastIndexOf(' ') + 1);
      this.add({object: `lock ${file}`, problem: `held by process ${pid}, which is gone`, unrepairable: this.opts.repair ? 'the kernel releases it when the last descriptor closes' : undefined});
    }
  }
}

function safe<T>(fn: () => T, fallback: T): T {
  try {
    return fn();
  } catch {
    return fallback;
  }
}

function canonical(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}

/** The first path component below dir, when mp lies below dir: the container ID or volume name owning it. */
function ownerId(mp: string, dir: string): string | undefined {
  if (!mp.startsWith(dir)) return undefined;
  const first = mp.slice(dir.length).split('/')[0];
  return first || undefined;
}

function detach(mp: string): void {
  try {
    umount2(mp, 0);
  } catch {
    umount2(mp, MNT.DETACH);
  }
}

/** One line per finding, as `system check` prints it. */
export function formatFinding(f: Finding): string {
  const tail = f.repaired ? `: ${f.repaired}` : f.unrepairable ? ` (not repaired: ${f.unrepairable})` : '';
  return `${f.object}: ${f.problem}${tail}`;
}
