import {Args} from '../cli/params';
import {SkiffCommand} from '../cli/base';

export default class Rename extends SkiffCommand {
  static override summary = 'Rename an existing container';
  static override args = {container: Args.string({required: true, description: 'container name or ID'}), name: Args.string({required: true, description: 'new name'})};

  async run(): Promise<void> {
    const {flags, args} = await this.parseArgs(Rename);
    const engine = await this.engine(flags);
    await engine.containers.rename(args.container, args.name);
  }
}
