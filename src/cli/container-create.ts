/**
 * What create and run share: resolve (or pull) the image per --pull, build
 * the config from the flags, create the record.
 */
import type {Engine} from '../lib/engine';
import type {ImageRecord} from '../lib/image/store';
import {buildConfig, type CreateFlags} from '../lib/container/create-config';
import {ContainerService} from '../lib/container/service';
import {randomName} from '../lib/container/names';
import {parsePlatform} from '../lib/image/manifest';
import {notFound} from '../lib/util/errors';
import {findImage} from '../lib/image/lookup';
import type {ContainerRecord} from '../lib/container/store';
import {pullProgress} from './progress';
import {defaultNetwork, warnIgnoredLimits} from '../lib/rootless/defaults';

export async function resolveImage(engine: Engine, image: string, flags: {pull?: string; platform?: string; 'tls-verify'?: boolean; quiet?: boolean}): Promise<ImageRecord> {
  const policy = flags.pull ?? 'missing';
  const local = policy === 'always' ? undefined : engine.images.find(image);
  if (local && policy !== 'newer') return local;
  if (policy === 'never') throw notFound(`${image}: image not known`);
  const progress = pullProgress({quiet: flags.quiet ?? false});
  try {
    const r = await engine.images.pull({
      reference: image,
      platform: flags.platform ? parsePlatform(flags.platform) : undefined,
      tlsVerify: flags['tls-verify'],
      events: progress.onEvent,
    });
    progress.finish();
    return engine.images.list().find((i) => i.id === r.id)!;
  } catch (err) {
    progress.finish();
    if (policy === 'newer' && local) return local;
    throw err;
  }
}

export async function createContainer(engine: Engine, image: string, command: string[], flags: CreateFlags & {replace?: boolean; pull?: string; platform?: string; 'tls-verify'?: boolean; quiet?: boolean}): Promise<ContainerRecord> {
  const img = await resolveImage(engine, image, flags);
  const svc = engine.containers;
  const volumesFrom = (flags as {'volumes-from'?: string[]})['volumes-from'] ?? [];
  const fromMounts = volumesFrom.flatMap((spec) => {
    const [ref, mode] = spec.split(':');
    const src = svc.get(ref);
    return src.config.mounts
      .filter((m) => m.type !== 'tmpfs')
      .map((m) => (mode === 'ro' ? {...m, options: [...m.options.filter((o) => o !== 'rw'), 'ro']} : m));
  });
  const config = buildConfig({
    flags,
    command,
    image: {id: img.id, name: img.names.find((n) => findImage([{...img, names: [n]}], image)) ?? img.names[0] ?? image, config: engine.images.config(img)},
    volumesFrom: fromMounts,
    cwd: process.cwd(),
    hostEnv: process.env,
    defaults: {runtime: ContainerService.defaultRuntime(), storageDriver: engine.storageDriver === 'vfs' ? 'vfs' : 'overlay', network: defaultNetwork()},
    name: flags.name ?? '',
  });
  warnIgnoredLimits(config.resources);
  return svc.create(config, {replace: flags.replace, generateName: flags.name === undefined ? randomName : undefined});
}
