import {Args, Flags} from '../cli/params';
import {SkiffCommand} from '../cli/base';
import {invalidInput} from '../lib/util/errors';
import {parseCpus, parseMemoryFlags} from '../lib/container/options/resources';
import type {ResourceLimits} from '../lib/container/types';

export default class Update extends SkiffCommand {
  static override summary = "Update a container's resource limits";
  static override description =
    'Applies the new limits to a running container at once (runc update) and records them in the container, so later starts keep them.';
  static override args = {container: Args.string({required: true, description: 'container (name or ID)'})};
  static override flags = {
    cpus: Flags.string({description: 'number of CPUs (e.g. 1.5)'}),
    'cpu-shares': Flags.integer({char: 'c', description: 'CPU shares (relative weight)'}),
    'cpu-quota': Flags.integer({description: 'limit the CPU CFS (Completely Fair Scheduler) quota, microseconds'}),
    'cpu-period': Flags.integer({description: 'limit the CPU CFS (Completely Fair Scheduler) period, microseconds'}),
    'cpuset-cpus': Flags.string({description: 'CPUs in which to allow execution (0-3, 0,1)'}),
    'cpuset-mems': Flags.string({description: 'memory nodes in which to allow execution (0-3, 0,1)'}),
    memory: Flags.string({char: 'm', description: 'memory limit (format: <number>[<unit>], unit = b, k, m or g)'}),
    'memory-swap': Flags.string({description: 'swap limit equal to memory plus swap: -1 for unlimited'}),
    'memory-reservation': Flags.string({description: 'memory soft limit'}),
    'pids-limit': Flags.integer({description: 'tune container pids limit (-1 for unlimited)'}),
    'blkio-weight': Flags.integer({description: 'block IO relative weight, between 10 and 1000, or 0 to disable'}),
  };

  async run(): Promise<void> {
    const {flags, args} = await this.parseArgs(Update);
    const svc = (await this.engine(flags)).containers;
    const changes: ResourceLimits = {};
    const mem = parseMemoryFlags({memory: flags.memory, memorySwap: flags['memory-swap'], memoryReservation: flags['memory-reservation']});
    if (flags.memory !== undefined) changes.memory = mem.memory;
    if (flags['memory-swap'] !== undefined) changes.memorySwap = mem.memorySwap;
    if (flags['memory-reservation'] !== undefined) changes.memoryReservation = mem.memoryReservation;
    if (flags.cpus !== undefined) changes.cpus = parseCpus(flags.cpus);
    if (flags['cpu-shares'] !== undefined) changes.cpuShares = flags['cpu-shares'];
    if (flags['cpu-quota'] !== undefined) changes.cpuQuota = flags['cpu-quota'];
    if (flags['cpu-period'] !== undefined) changes.cpuPeriod = flags['cpu-period'];
    if (flags.cpus !== undefined && (flags['cpu-quota'] !== undefined || flags['cpu-period'] !== undefined)) {
      throw invalidInput('--cpus and --cpu-period/--cpu-quota cannot be set together');
    }
    if (flags['cpuset-cpus'] !== undefined) changes.cpusetCpus = flags['cpuset-cpus'];
    if (flags['cpuset-mems'] !== undefined) changes.cpusetMems = flags['cpuset-mems'];
    if (flags['pids-limit'] !== undefined) changes.pidsLimit = flags['pids-limit'];
    if (flags['blkio-weight'] !== undefined) {
      const w = flags['blkio-weight'];
      if (w !== 0 && (w < 10 || w > 1000)) throw invalidInput(`invalid --blkio-weight ${w}: must be between 10 and 1000`);
      changes.blkioWeight = w;
    }
    if (Object.keys(changes).length === 0) throw invalidInput('no resource limits to update: pass at least one of --cpus, --memory, --pids-limit, ...');
    const rec = await svc.update(args.container, changes);
    this.out(rec.config.id);
  }
}
