import {Args, Flags} from '../cli/params';
import * as fs from 'node:fs';
import {SkiffCommand} from '../cli/base';
import {invalidInput} from '../lib/util/errors';

/** podman commit: the container's changes as a new image; progress on stderr, the image ID on stdout. */
export default class Commit extends SkiffCommand {
  static override summary = 'Create new image based on the changed container';
  static override description =
    'The container\'s overlay changes become one new layer on top of its image (deletions as whiteouts). The config is the image\'s, updated from the container and by --change.';
  static override args = {
    container: Args.string({required: true, description: 'container name or ID'}),
    image: Args.string({required: false, description: 'name (and tag) of the new image'}),
  };
  static override flags = {
    change: Flags.string({char: 'c', multiple: true, description: 'apply an instruction to the image: CMD | ENTRYPOINT | ENV | EXPOSE | LABEL | STOPSIGNAL | USER | VOLUME | WORKDIR'}),
    message: Flags.string({char: 'm', description: 'set the commit message (the history entry\'s comment)'}),
    author: Flags.string({char: 'a', description: 'set the author of the image'}),
    pause: Flags.boolean({char: 'p', default: true, allowNo: true, description: 'pause a running container while its changes are read (default true)'}),
    quiet: Flags.boolean({char: 'q', description: 'suppress the progress output'}),
    format: Flags.string({char: 'f', default: 'oci', description: 'format of the image manifest and config: oci or docker'}),
    iidfile: Flags.string({description: 'write the image ID to this file'}),
  };
  static override examples = ['skiff commit ctr myimage:v1', 'skiff commit -c \'CMD ["/bin/sh"]\' -m "added tools" ctr tools'];

  async run(): Promise<void> {
    const {flags, args} = await this.parseArgs(Commit);
    if (flags.format !== 'oci' && flags.format !== 'docker') throw invalidInput(`unrecognized image type "${flags.format}"`);
    const engine = await this.engine(flags);
    const {commitContainer} = await import('../lib/container/commit');
    const r = await commitContainer(engine.paths, engine.containers, engine.images, {
      container: args.container,
      image: args.image,
      changes: flags.change,
      message: flags.message,
      author: flags.author,
      pause: flags.pause,
      format: flags.format,
      progress: flags.quiet ? undefined : (line) => process.stderr.write(line + '\n'),
    });
    if (flags.iidfile) fs.writeFileSync(flags.iidfile, `sha256:${r.id}`);
    this.out(r.id);
  }
}
