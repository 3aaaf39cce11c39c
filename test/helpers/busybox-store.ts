/**
 * The fixture container tests share: a loopback registry serving the
 * busybox test image, and a private store that has pulled it. close()
 * removes every container, the store and the registry.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import {makeStore, type Store} from './skiff';
import {startRegistry, type TestRegistry} from './registry';
import {buildBusybox, pushImage, type BuiltImage} from './images';

export interface BusyboxStore {
  reg: TestRegistry;
  busybox: BuiltImage;
  store: Store;
  /** The image's name in the registry (and the store). */
  image: string;
  /** Mounts below the store's directory right now. */
  mounts(): number;
  close(): Promise<void>;
}

export async function busyboxStore(): Promise<BusyboxStore> {
  const reg = await startRegistry();
  const busybox = await buildBusybox();
  const image = `${reg.host}/busybox:latest`;
  await pushImage(busybox.layoutDir, busybox.ref, image, reg);
  const store = makeStore();
  const r = await store.run(['pull', '-q', '--tls-verify=false', image]);
  assert.equal(r.code, 0, r.stderr);
  return {
    reg,
    busybox,
    store,
    image,
    mounts: () => fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(store.dir)).length,
    async close() {
      await store.run(['rm', '-a', '-f']);
      await store.cleanup();
      await reg.stop();
    },
  };
}
