import {Args, Flags} from '../../cli/params';
import {SkiffCommand} from '../../cli/base';
import {multi} from '../../cli/flags';

/** podman volume create [options] [NAME]: prints the volume's name. */
export default class VolumeCreate extends SkiffCommand {
  static override summary = 'Create a new volume';
  static override args = {name: Args.string({required: false, description: 'volume name (random when omitted)'})};
  static override flags = {
    driver: Flags.string({char: 'd', description: 'volume driver name', default: 'local'}),
    ignore: Flags.boolean({description: "don't fail if the named volume already exists; print its name"}),
    label: multi({char: 'l', description: 'set metadata for a volume (KEY=VALUE)'}),
    opt: multi({char: 'o', description: 'driver options: type=TYPE, device=DEVICE, o=MOUNT-OPTIONS (uid=, gid=, nocopy)'}),
  };

  async run(): Promise<void> {
    const {flags, args} = await this.parseArgs(VolumeCreate);
    const engine = await this.engine(flags);
    const {volumeServiceFor, parseKeyValues} = await import('../../lib/container/volumes');
    const rec = await volumeServiceFor(engine.paths).create({
      name: args.name,
      driver: flags.driver,
      labels: parseKeyValues(flags.label),
      options: parseKeyValues(flags.opt),
      ignoreExisting: flags.ignore,
    });
    this.out(rec.name);
  }
}
