/**
 * A throwaway registry for the benchmarks: test/helpers/registry.ts's
 * docker-registry on a free 127.0.0.1 port (plain HTTP, no auth), loaded
 * with images from OCI layouts, kept running until SIGTERM/SIGINT or until
 * the --parent process is gone; then it stops and removes its storage.
 *
 *   registry.ts [--parent PID] [--push LAYOUT REF NAME]... [--push-all LAYOUT PREFIX]
 *
 * --push       copies oci:LAYOUT:REF to NAME (a repository[:tag] on the registry) with skopeo.
 * --push-all   pushes every ref R of LAYOUT to PREFIX/R:latest over HTTP (many small
 *              images: one skopeo process each would take minutes).
 * Prints `host=127.0.0.1:PORT` and then `ready` on stdout once everything is pushed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {startRegistry, type TestRegistry} from '../test/helpers/registry';
import {pushImage} from '../test/helpers/images';

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

const blobPath = (layout: string, digest: string) => path.join(layout, 'blobs', digest.replace(':', '/'));

async function check(res: Response, what: string, want: number[]): Promise<Response> {
  if (!want.includes(res.status)) throw new Error(`${what}: HTTP ${res.status} ${await res.text()}`);
  return res;
}

async function pushBlob(base: string, repo: string, layout: string, d: Descriptor): Promise<void> {
  const head = await fetch(`${base}/v2/${repo}/blobs/${d.digest}`, {method: 'HEAD'});
  if (head.status === 200) return;
  const start = await check(await fetch(`${base}/v2/${repo}/blobs/uploads/`, {method: 'POST'}), `start upload ${repo}`, [202]);
  const loc = new URL(start.headers.get('location')!, base);
  loc.searchParams.set('digest', d.digest);
  await start.text();
  const body = fs.readFileSync(blobPath(layout, d.digest));
  const put = await fetch(loc, {method: 'PUT', body, headers: {'content-type': 'application/octet-stream', 'content-length': String(body.length)}});
  await check(put, `upload ${d.digest} to ${repo}`, [201]);
  await put.text();
}

async function pushAll(reg: TestRegistry, layout: string, prefix: string): Promise<number> {
  const base = `http://${reg.host}`;
  const index = JSON.parse(fs.readFileSync(path.join(layout, 'index.json'), 'utf8')) as {manifests: Descriptor[]};
  const jobs = index.manifests.map((m) => async () => {
    const ref = m.annotations?.['org.opencontainers.image.ref.name'];
    if (!ref) return;
    const repo = `${prefix}/${ref}`;
    const raw = fs.readFileSync(blobPath(layout, m.digest));
    const doc = JSON.parse(raw.toString('utf8')) as {config: Descriptor; layers: Descriptor[]};
    for (const d of [...doc.layers, doc.config]) await pushBlob(base, repo, layout, d);
    const res = await fetch(`${base}/v2/${repo}/manifests/latest`, {method: 'PUT', body: raw, headers: {'content-type': m.mediaType}});
    await check(res, `manifest ${repo}`, [201]);
    await res.text();
  });
  let next = 0;
  await Promise.all(Array.from({length: 8}, async () => {
    while (next < jobs.length) await jobs[next++]();
  }));
  return jobs.length;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let parent = 0;
  const pushes: [string, string, string][] = [];
  const pushAlls: [string, string][] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--parent') parent = Number(argv[++i]);
    else if (argv[i] === '--push') pushes.push([argv[++i], argv[++i], argv[++i]]);
    else if (argv[i] === '--push-all') pushAlls.push([argv[++i], argv[++i]]);
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  const reg = await startRegistry();
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    await reg.stop();
    process.exit(code);
  };
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => void stop(0));
  if (parent) {
    setInterval(() => {
      try {
        process.kill(parent, 0);
      } catch {
        void stop(0);
      }
    }, 1000);
  }
  try {
    process.stdout.write(`host=${reg.host}\n`);
    for (const [layout, ref, name] of pushes) {
      const t = Date.now();
      await pushImage(layout, ref, `${reg.host}/${name}`, reg);
      process.stderr.write(`pushed ${ref} as ${reg.host}/${name} in ${((Date.now() - t) / 1000).toFixed(1)} s\n`);
    }
    for (const [layout, prefix] of pushAlls) {
      const t = Date.now();
      const n = await pushAll(reg, layout, prefix);
      process.stderr.write(`pushed ${n} images as ${reg.host}/${prefix}/* in ${((Date.now() - t) / 1000).toFixed(1)} s\n`);
    }
    process.stdout.write('ready\n');
  } catch (err) {
    process.stderr.write(`bench registry: ${(err as Error).message}\n`);
    await stop(1);
  }
  // Stay up: the registry child and the timers keep the event loop alive.
  if (!parent) setInterval(() => {}, 1 << 30);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench registry: ${(err as Error).message}\n`);
  process.exit(1);
});
