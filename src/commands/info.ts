import {Flags} from '../cli/params';
import {SkiffCommand} from '../cli/base';
import {toYaml} from '../cli/yaml';
import {VERSION, BUILT} from '../lib/version';
import {goArch, goOs} from '../lib/util/platform';
import {cgroupMode, detectRuntimes, distribution, findBinary, binaryVersion, hostBasics} from '../lib/runtime/host';
import {loadRegistriesConf} from '../lib/image/registries-conf';
import {messageOf} from '../lib/util/errors';
import {readIdMap} from '../lib/rootless/userns';
import {defaultNetwork} from '../lib/rootless/defaults';
import {writeOut} from '../cli/stdout';

function idMap(file: string): {container_id: number; host_id: number; size: number}[] {
  return readIdMap(file).map((r) => ({container_id: r.inner, host_id: r.outer, size: r.count}));
}

export default class Info extends SkiffCommand {
  static override summary = 'Display skiff and host information';
  static override flags = {
    format: Flags.string({char: 'f', description: "change the output format to 'json' or a Go template"}),
  };

  async run(): Promise<void> {
    const {flags} = await this.parseArgs(Info);
    const engine = await this.engine(flags);
    const mode = cgroupMode();
    const runtimes = detectRuntimes(mode);
    const chosen = runtimes.find((r) => r.usable);
    const conmon = findBinary('conmon');
    let search: string[] = [];
    let registriesError: string | undefined;
    try {
      search = loadRegistriesConf(engine.paths).unqualifiedSearchRegistries;
    } catch (err) {
      registriesError = messageOf(err);
    }
    const images = engine.images.list();
    const info = {
      host: {
        arch: goArch(),
        os: goOs(),
        ...hostBasics(),
        distribution: distribution(),
        cgroupVersion: mode === 'v2' ? 'v2' : 'v1',
        cgroupLayout: mode,
        rootless: engine.paths.rootless,
        // As podman: the user namespace's mappings (rootless only; this process runs inside it).
        ...(engine.paths.rootless ? {idMappings: {uidmap: idMap('/proc/self/uid_map'), gidmap: idMap('/proc/self/gid_map')}} : {}),
        ociRuntime: chosen ? {name: chosen.name, path: chosen.path, version: chosen.version} : {name: 'none', path: '', version: ''},
        ociRuntimes: Object.fromEntries(runtimes.map((r) => [r.name, {path: r.path ?? '', version: r.version ?? '', usable: r.usable, ...(r.reason ? {reason: r.reason} : {})}])),
        conmon: {path: conmon ?? '', version: conmon ? binaryVersion(conmon) : 'not installed'},
        defaultNetwork: defaultNetwork(),
      },
      store: {
        graphDriverName: engine.storageDriver,
        graphRoot: engine.paths.root,
        runRoot: engine.paths.runroot,
        imageStore: {number: images.length},
        configFiles: engine.paths.registriesConfFiles(),
      },
      registries: {search, ...(registriesError ? {error: registriesError} : {})},
      version: {Version: VERSION, Built: BUILT, NodeVersion: process.version, OsArch: `${goOs()}/${goArch()}`},
    };
    if (flags.format) {
      const {renderOne} = await import('../cli/output');
      this.out(renderOne(info, flags.format));
      return;
    }
    writeOut(toYaml(info));
  }
}
