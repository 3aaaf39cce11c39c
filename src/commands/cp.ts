import {Args, Flags} from '../cli/params';
import {SkiffCommand} from '../cli/base';

/**
 * podman cp: between a container (running or not) and the host, or a tar
 * stream on stdin/stdout with "-". Container paths are resolved inside the
 * container's root: its symlinks never lead outside it.
 */
export default class Cp extends SkiffCommand {
  static override summary = 'Copy files/folders between a container and the local filesystem';
  static override description =
    'SRC_PATH or DEST_PATH is CONTAINER:PATH on one side. "-" streams a tar archive from stdin (DEST must be a directory) or to stdout. ' +
    'A directory SRC ending in "/." copies its contents. Owners, modes, xattrs, devices and hardlinks are kept; with --archive (the default) ' +
    "files copied into a container belong to the container's user.";
  static override args = {
    src: Args.string({required: true, description: '[CONTAINER:]SRC_PATH, or - for a tar stream on stdin'}),
    dest: Args.string({required: true, description: '[CONTAINER:]DEST_PATH, or - for a tar stream on stdout'}),
  };
  static override flags = {
    archive: Flags.boolean({char: 'a', default: true, allowNo: true, description: "chown files copied into a container to the container's primary uid/gid (default true); --archive=false keeps the source's owners"}),
  };
  static override examples = ['skiff cp ctr:/etc/os-release .', 'skiff cp ./dir ctr:/srv/', 'skiff cp ctr:/var/log/. - | tar -t'];

  async run(): Promise<void> {
    const {flags, args} = await this.parseArgs(Cp);
    const engine = await this.engine(flags);
    const {copy, parseCopyEnd} = await import('../lib/container/copy');
    const from = parseCopyEnd(args.src);
    const to = parseCopyEnd(args.dest);
    await copy(from, to, {
      stdin: process.stdin,
      stdout: process.stdout,
      archive: flags.archive,
      withRootfs: (ctr, fn) => engine.rootfs.with(ctr, (rootfs, rec) => fn(rootfs, rec.config.user)),
    });
  }
}
