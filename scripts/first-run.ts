// The README's first command after install: builds a small image locally
// (Debian's static busybox), serves it from a private registry on 127.0.0.1,
// has skiff pull, list and inspect it, and runs a first container from it.
// Run: node --import tsx scripts/first-run.ts
import {spawnSync} from 'node:child_process';
import {startRegistry} from '../test/helpers/registry';
import {buildBusybox, pushImage} from '../test/helpers/images';

function skiff(args: string[]): void {
  process.stdout.write(`\n$ skiff ${args.join(' ')}\n`);
  const r = spawnSync('skiff', args, {stdio: 'inherit'});
  if (r.status !== 0) throw new Error(`skiff ${args.join(' ')} exited ${r.status}`);
}

async function main(): Promise<void> {
  const reg = await startRegistry();
  try {
    const img = await buildBusybox();
    const ref = `${reg.host}/busybox:latest`;
    await pushImage(img.layoutDir, img.ref, ref, reg);
    process.stdout.write(`built a busybox image locally and pushed it to a registry on ${reg.host}\n`);
    skiff(['pull', '--tls-verify=false', ref]);
    skiff(['images']);
    skiff(['image', 'inspect', '--format', '{{.Id}} {{.Architecture}} {{.Config.Cmd}} {{len .RootFS.Layers}} layer(s)', ref]);
    skiff(['tag', ref, 'first-run']);
    skiff(['images', '--format', 'table {{.Repository}} {{.Tag}} {{.ID}} {{.Size}}']);
    skiff(['run', '--rm', 'first-run', 'sh', '-c', 'echo "hello from a skiff container: $(uname -s) $(hostname), pid $$, user $(id -un)"']);
    skiff(['run', '-d', '--name', 'first-run-sleeper', 'first-run', 'sleep', '60']);
    skiff(['ps']);
    skiff(['rm', '-f', 'first-run-sleeper']);
  } finally {
    await reg.stop();
  }
}

main().catch((err) => {
  process.stderr.write(`first-run failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
