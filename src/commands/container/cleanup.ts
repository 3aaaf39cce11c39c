import {Args} from '../../cli/params';
import {SkiffCommand} from '../../cli/base';

/** conmon's exit command: record the exit, unmount, --rm, restart policy. */
export default class ContainerCleanup extends SkiffCommand {
  static override summary = 'Clean up a container after it exits (run by conmon)';
  static override hidden = true;
  static override args = {container: Args.string({required: true, description: 'container ID'})};

  async run(): Promise<void> {
    const {flags, args} = await this.parseArgs(ContainerCleanup);
    const engine = await this.engine(flags);
    await engine.containers.cleanup(args.container);
  }
}
