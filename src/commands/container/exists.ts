import {Args} from '../../cli/params';
import {SkiffCommand} from '../../cli/base';

export default class ContainerExists extends SkiffCommand {
  static override summary = 'Check if a container exists in local storage (exit 0 yes, 1 no)';
  static override args = {container: Args.string({required: true, description: 'container name or ID'})};

  async run(): Promise<void> {
    const {flags, args} = await this.parseArgs(ContainerExists);
    const engine = await this.engine(flags);
    if (!engine.containers.find(args.container)) process.exitCode = 1;
  }
}
