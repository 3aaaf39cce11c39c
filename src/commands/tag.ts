import {Args} from '../cli/params';
import {SkiffCommand} from '../cli/base';
import {invalidInput} from '../lib/util/errors';

export default class Tag extends SkiffCommand {
  static override summary = 'Add an additional name to a local image';
  static override strict = false;
  static override args = {
    image: Args.string({required: true, description: 'the image to tag'}),
    target: Args.string({required: false, description: 'new names (name[:tag])'}),
  };

  async run(): Promise<void> {
    const {flags, argv} = await this.parseArgs(Tag);
    const [image, ...targets] = argv;
    if (targets.length === 0) throw invalidInput('at least two arguments are required: IMAGE TARGET_NAME [TARGET_NAME...]');
    const engine = await this.engine(flags);
    await engine.images.tag(image, targets);
  }
}
