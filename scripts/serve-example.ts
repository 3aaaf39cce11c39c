// The README's examples pull 127.0.0.1:5000/busybox: this serves it. Builds
// the busybox image locally (Debian's static busybox, as first-run.ts),
// starts Debian's docker-registry on 127.0.0.1:PORT in the background (left
// running, storage in /var/tmp/skiff-example-registry) unless a registry
// already answers there (Debian's own service listens on :5000 where systemd
// runs), and pushes the image. Any user can then pull it, root or not.
// Run: node --import tsx scripts/serve-example.ts [PORT]     (default 5000)
import {spawn} from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import {buildBusybox, pushImage} from '../test/helpers/images';
import {REGISTRY_BIN, type TestRegistry} from '../test/helpers/registry';

const DIR = '/var/tmp/skiff-example-registry';

function answers(host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(`http://${host}/v2/`, (res) => {
      res.resume();
      resolve(res.statusCode === 200 || res.statusCode === 401);
    });
    req.on('error', () => resolve(false));
    req.setTimeout(2000, () => req.destroy());
  });
}

async function main(): Promise<void> {
  const port = Number(process.argv[2] ?? 5000);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`bad port ${process.argv[2]}`);
  const host = `127.0.0.1:${port}`;
  if (await answers(host)) {
    process.stdout.write(`a registry already answers on ${host}: pushing to it\n`);
  } else {
    fs.mkdirSync(path.join(DIR, 'storage'), {recursive: true});
    const config = {version: 0.1, log: {level: 'warn'}, storage: {filesystem: {rootdirectory: path.join(DIR, 'storage')}, delete: {enabled: true}}, http: {addr: host}};
    fs.writeFileSync(path.join(DIR, 'config.yml'), JSON.stringify(config, null, 2)); // JSON is YAML
    const log = fs.openSync(path.join(DIR, 'registry.log'), 'a');
    const child = spawn(REGISTRY_BIN, ['serve', path.join(DIR, 'config.yml')], {detached: true, stdio: ['ignore', log, log], cwd: DIR});
    child.unref();
    fs.writeFileSync(path.join(DIR, 'registry.pid'), `${child.pid}\n`);
    for (let i = 0; i < 100 && !(await answers(host)); i++) await new Promise((r) => setTimeout(r, 100));
    if (!(await answers(host))) throw new Error(`docker-registry did not start on ${host}: see ${DIR}/registry.log`);
    process.stdout.write(`docker-registry runs on ${host} (pid ${child.pid}; stop it with: kill $(cat ${DIR}/registry.pid))\n`);
  }
  const img = await buildBusybox();
  const reg: TestRegistry = {host, tls: false, auth: 'none', storageDir: path.join(DIR, 'storage'), stop: async () => undefined};
  await pushImage(img.layoutDir, img.ref, `${host}/busybox:latest`, reg);
  process.stdout.write(`pushed ${host}/busybox:latest: skiff pull --tls-verify=false ${host}/busybox\n`);
}

main().catch((err) => {
  process.stderr.write(`serve-example failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
