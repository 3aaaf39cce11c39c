import {Args} from '../../cli/params';
import {SkiffCommand} from '../../cli/base';

/** Exit 0 when the volume exists, 1 when not (no output), as podman. */
export default class VolumeExists extends SkiffCommand {
  static override summary = 'Check if a volume exists';
  static override args = {name: Args.string({required: true, description: 'volume name'})};

  async run(): Promise<void> {
    const {flags, args} = await this.parseArgs(VolumeExists);
    const engine = await this.engine(flags);
    const {volumeServiceFor} = await import('../../lib/container/volumes');
    if (!volumeServiceFor(engine.paths).exists(args.name)) process.exitCode = 1;
  }
}
