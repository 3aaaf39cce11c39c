import {Args, Flags} from '../cli/params';
import {SkiffCommand} from '../cli/base';
import {invalidInput} from '../lib/util/errors';
import {writeOut} from '../cli/stdout';

export default class Top extends SkiffCommand {
  static override summary = 'Display the running processes of a container';
  static override description = `Descriptors are podman's (psgo) AIX-style names, comma or space separated: args, capamb, capbnd, capeff, capinh, capprm, comm, etime, group, hgroup, hpid, huser, label, nice, pcpu, pgid, pid, ppid, rgroup, ruser, seccomp, state, stime, time, tty, user, vsz (or %a %c %t %G %n %C %r %p %P %g %U %x %y %u %z). The default is user,pid,ppid,pcpu,etime,tty,time,args. Anything else (e.g. -eo pid,comm) is passed to ps(1) run inside the container.`;
  static override strict = false;
  static override args = {
    container: Args.string({required: false, description: 'container (name or ID)'}),
    descriptors: Args.string({required: false, description: 'format descriptors or ps(1) options'}),
  };
  static override flags = {
    latest: Flags.boolean({char: 'l', description: 'act on the latest container created'}),
  };

  async run(): Promise<void> {
    // ps options such as -eo must reach ps, not the flag parser: take everything after the container as-is.
    const rawArgv = [...this.argv];
    const ci = rawArgv.findIndex((a, i) => !a.startsWith('-') && !(i > 0 && ['--root', '--runroot', '--log-level', '--storage-driver'].includes(rawArgv[i - 1])));
    const rest = ci >= 0 ? rawArgv.slice(ci + 1) : [];
    this.argv = ci >= 0 ? rawArgv.slice(0, ci + 1) : rawArgv;
    const {flags, argv} = await this.parseArgs(Top);
    const engine = await this.engine(flags);
    const svc = engine.containers;
    let target = argv[0];
    let descriptors = rest;
    if (flags.latest) {
      const latest = svc.list().sort((a, b) => Date.parse(b.config.created) - Date.parse(a.config.created))[0];
      if (!latest) throw invalidInput('no containers to act on');
      if (target !== undefined) descriptors = [target, ...rest];
      target = latest.config.id;
    }
    if (!target) throw invalidInput('you must provide the name or id of a running container');
    const {containerTop} = await import('../lib/container/top-container');
    const res = await containerTop(engine.paths, svc.get(target), descriptors);
    if ('text' in res) {
      writeOut(res.text);
      return;
    }
    const {tabwrite} = await import('../lib/util/gotemplate/tabwriter');
    writeOut(tabwrite(res.table.map((r) => r.join('\t') + '\n').join('')));
  }
}
