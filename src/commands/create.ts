import {Args, Flags} from '../cli/params';
import {SkiffCommand} from '../cli/base';
import {createFlags} from '../cli/create-flags';
import {createContainer} from '../cli/container-create';

export default class Create extends SkiffCommand {
  static override summary = 'Create but do not start a container';
  static override strict = false;
  static override interspersed = false;
  static override args = {image: Args.string({required: true, description: 'image to create the container from'}), command: Args.string({required: false, description: 'command and arguments (default: the image ENTRYPOINT and CMD)'})};
  static override flags = {...createFlags, quiet: Flags.boolean({char: 'q', description: 'suppress output information when pulling images'})};

  async run(): Promise<void> {
    const {flags, argv} = await this.parseArgs(Create);
    const engine = await this.engine(flags);
    const rec = await createContainer(engine, argv[0], argv.slice(1), flags);
    this.out(rec.config.id);
  }
}
