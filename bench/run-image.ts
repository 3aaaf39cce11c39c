/**
 * The image for bench/run.sh: test/helpers/images.ts's busybox (one layer:
 * the host's static /bin/busybox with applet symlinks, passwd/group), built
 * as an OCI layout and copied to OUT (the helper's own layout is removed when
 * this process exits), so bench/registry.ts can push it.
 *
 *   run-image.ts OUT      # prints OUT; the image's ref in the layout is "busybox"
 */
import * as fs from 'node:fs';
import {buildBusybox} from '../test/helpers/images';

async function main(): Promise<void> {
  const out = process.argv[2];
  if (!out) throw new Error('usage: run-image.ts OUT');
  const img = await buildBusybox();
  fs.rmSync(out, {recursive: true, force: true});
  fs.cpSync(img.layoutDir, out, {recursive: true});
  console.log(out);
}

main().catch((err: unknown) => {
  process.stderr.write(`run-image: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
