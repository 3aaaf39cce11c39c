import {Args} from '../cli/params';
import {SkiffCommand} from '../cli/base';

export default class Untag extends SkiffCommand {
  static override summary = 'Remove names from a local image (all names when none are given)';
  static override strict = false;
  static override args = {
    image: Args.string({required: true, description: 'the image to untag'}),
    name: Args.string({required: false, description: 'names to remove'}),
  };

  async run(): Promise<void> {
    const {flags, argv} = await this.parseArgs(Untag);
    const [image, ...names] = argv;
    const engine = await this.engine(flags);
    await engine.images.untag(image, names);
  }
}
