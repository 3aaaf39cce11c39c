import {Flags} from '../../cli/params';
import {SkiffCommand} from '../../cli/base';
import {invalidInput} from '../../lib/util/errors';

/**
 * podman system check: one line per finding on stdout. Exit 0 when the
 * store is sound (or every finding was repaired), 1 when a problem remains
 * (as podman), 125 when the check itself could not run.
 */
export default class SystemCheck extends SkiffCommand {
  static override summary = 'Check the store for consistency and repair what can be repaired';
  static override description =
    'Verifies image records against their config and manifest blobs and their layer chain, layer records against their directories, ' +
    'container records against their files, mounts and processes, and looks for leftovers of interrupted commands (temp directories, ' +
    'runtime files, mounts nothing uses). Each finding is printed on one line. Exits 0 when nothing is wrong or everything found was ' +
    'repaired, and 1 when a problem remains. Work other skiff processes are doing at the same time is skipped, never reported. ' +
    'Lock files of containers, volumes and layers that no longer exist are deleted quietly, with or without --repair: they hold no data.';
  static override flags = {
    repair: Flags.boolean({char: 'r', description: 'remove orphaned layers, blobs, temp directories and dangling records, unmount leaked mounts, settle containers stuck in a transitional state'}),
    quick: Flags.boolean({char: 'q', description: 'skip re-hashing image config and manifest blobs (check only that they exist)'}),
    force: Flags.boolean({char: 'f', description: 'with --repair, also remove containers whose image is damaged or missing, so the image can be repaired'}),
  };

  async run(): Promise<void> {
    const {flags} = await this.parseArgs(SystemCheck);
    if (flags.force && !flags.repair) throw invalidInput('--force only makes sense with --repair');
    const engine = await this.engine(flags);
    const {formatFinding} = await import('../../lib/system/check');
    const report = await engine.check({repair: flags.repair, quick: flags.quick, force: flags.force});
    for (const f of report.findings) this.out(formatFinding(f));
    process.exitCode = report.remaining > 0 ? 1 : 0;
  }
}
