import {Args} from '../../cli/params';
import {SkiffCommand} from '../../cli/base';

/** Exit 0 when the image exists locally, 1 when not (no output), as podman. */
export default class ImageExists extends SkiffCommand {
  static override summary = 'Check if an image exists in local storage';
  static override args = {image: Args.string({required: true, description: 'image name or ID'})};

  async run(): Promise<void> {
    const {flags, args} = await this.parseArgs(ImageExists);
    const engine = await this.engine(flags);
    if (!engine.images.find(args.image)) process.exitCode = 1;
  }
}
