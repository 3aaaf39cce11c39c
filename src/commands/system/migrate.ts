import {SkiffCommand} from '../../cli/base';
import {messageOf} from '../../lib/util/errors';
import {log} from '../../lib/util/log';
import {ENV_PAUSE, isRootless} from '../../lib/rootless/userns';

/**
 * podman system migrate, for what skiff has to migrate: a rootless user's
 * namespace. Running containers are stopped, then the pause process that
 * holds the user namespace is killed, so the next command creates a new one
 * with the current /etc/subuid and /etc/subgid ranges. As root there is
 * nothing to migrate.
 */
export default class SystemMigrate extends SkiffCommand {
  static override summary = "Stop the rootless user namespace so it is re-created (after /etc/subuid or /etc/subgid changed)";
  static override description =
    "For a rootless user: stops every running container, then the pause process holding skiff's user namespace; the next skiff command creates " +
    'the namespace again with the current /etc/subuid and /etc/subgid ranges. As root it does nothing.';

  async run(): Promise<void> {
    const {flags} = await this.parseArgs(SystemMigrate);
    if (!isRootless()) return;
    const engine = await this.engine(flags);
    const svc = engine.containers;
    for (const rec of svc.list()) {
      const st = svc.observed(rec);
      if (st.status !== 'running' && st.status !== 'paused') continue;
      try {
        await svc.stop(rec.config.id);
      } catch (err) {
        log.warn(`stopping container ${rec.config.id.slice(0, 12)}: ${messageOf(err)}`);
      }
    }
    // This process is inside the namespace: the entry named the pause process as "PID:STARTTIME".
    const [pid] = (process.env[ENV_PAUSE] ?? '').split(':').map(Number);
    if (pid > 0) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}
