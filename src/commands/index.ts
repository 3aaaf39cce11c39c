/**
 * Every command, by oclif id ("image:ls" is `skiff image ls`), as a loader
 * of its module. src/cli/main.ts dispatches straight from this map without a
 * command search; podman's aliases (images = image ls = image list) are
 * entries of their own pointing at the same loader.
 *
 * Loaders, not classes: the bundler wraps each command module so that it is
 * evaluated only when imported. The start-up snapshot evaluates the hot
 * commands' modules (HOT_COMMANDS) at build time; every other command costs
 * nothing until it runs, instead of ~10 ms of snapshot deserialisation for
 * every invocation (docs/design.md "Start-up").
 */
import type {SkiffCommand} from '../cli/base';

/** A command module, evaluated on first use (see the note above COMMANDS). */
export type CommandLoader = () => Promise<{default: typeof SkiffCommand}>;

const Version: CommandLoader = () => import('./version');
const Pull: CommandLoader = () => import('./pull');
const Images: CommandLoader = () => import('./images');
const Rmi: CommandLoader = () => import('./rmi');
const Tag: CommandLoader = () => import('./tag');
const Untag: CommandLoader = () => import('./untag');
const Inspect: CommandLoader = () => import('./inspect');
const ImageInspect: CommandLoader = () => import('./image/inspect');
const ImageExists: CommandLoader = () => import('./image/exists');
const ImagePrune: CommandLoader = () => import('./image/prune');
const Info: CommandLoader = () => import('./info');
const Login: CommandLoader = () => import('./login');
const Logout: CommandLoader = () => import('./logout');
const Create: CommandLoader = () => import('./create');
const Run: CommandLoader = () => import('./run');
const Start: CommandLoader = () => import('./start');
const Stop: CommandLoader = () => import('./stop');
const Kill: CommandLoader = () => import('./kill');
const Rm: CommandLoader = () => import('./rm');
const Wait: CommandLoader = () => import('./wait');
const Ps: CommandLoader = () => import('./ps');
const Logs: CommandLoader = () => import('./logs');
const Rename: CommandLoader = () => import('./rename');
const Restart: CommandLoader = () => import('./restart');
const ContainerInspect: CommandLoader = () => import('./container/inspect');
const ContainerExists: CommandLoader = () => import('./container/exists');
const ContainerPrune: CommandLoader = () => import('./container/prune');
const ContainerCleanup: CommandLoader = () => import('./container/cleanup');
const VolumeCreate: CommandLoader = () => import('./volume/create');
const VolumeLs: CommandLoader = () => import('./volume/ls');
const VolumeInspect: CommandLoader = () => import('./volume/inspect');
const VolumeRm: CommandLoader = () => import('./volume/rm');
const VolumePrune: CommandLoader = () => import('./volume/prune');
const VolumeExists: CommandLoader = () => import('./volume/exists');
// Runtime operator commands (pause/unpause, top, stats, update, init, events, port).
const Pause: CommandLoader = () => import('./pause');
const Unpause: CommandLoader = () => import('./unpause');
const Top: CommandLoader = () => import('./top');
const Stats: CommandLoader = () => import('./stats');
const Update: CommandLoader = () => import('./update');
const Init: CommandLoader = () => import('./init');
const Events: CommandLoader = () => import('./events');
const Port: CommandLoader = () => import('./port');
// terminals and streams
const Attach: CommandLoader = () => import('./attach');
const Exec: CommandLoader = () => import('./exec');
// container filesystem commands (diff, mount, unmount, export, cp, commit)
const Diff: CommandLoader = () => import('./diff');
const Mount: CommandLoader = () => import('./mount');
const Unmount: CommandLoader = () => import('./unmount');
const Export: CommandLoader = () => import('./export');
const Cp: CommandLoader = () => import('./cp');
const Commit: CommandLoader = () => import('./commit');
// networking (feat/net)
const NetworkCreate: CommandLoader = () => import('./network/create');
const NetworkLs: CommandLoader = () => import('./network/ls');
const NetworkInspect: CommandLoader = () => import('./network/inspect');
const NetworkRm: CommandLoader = () => import('./network/rm');
const NetworkPrune: CommandLoader = () => import('./network/prune');
const NetworkExists: CommandLoader = () => import('./network/exists');
const NetworkConnect: CommandLoader = () => import('./network/connect');
const NetworkDisconnect: CommandLoader = () => import('./network/disconnect');
// system (fault/consistency work)
const SystemCheck: CommandLoader = () => import('./system/check');
// images in and out (feat/imgio)
const Save: CommandLoader = () => import('./save');
const Load: CommandLoader = () => import('./load');
const Push: CommandLoader = () => import('./push');
const Import: CommandLoader = () => import('./import');
const ImageHistory: CommandLoader = () => import('./image/history');
// rootless
const Unshare: CommandLoader = () => import('./unshare');
const SystemMigrate: CommandLoader = () => import('./system/migrate');

export const COMMANDS: Record<string, CommandLoader> = {
  version: Version,
  create: Create,
  run: Run,
  start: Start,
  stop: Stop,
  kill: Kill,
  rm: Rm,
  wait: Wait,
  ps: Ps,
  logs: Logs,
  rename: Rename,
  restart: Restart,
  'container:create': Create,
  'container:run': Run,
  'container:start': Start,
  'container:stop': Stop,
  'container:kill': Kill,
  'container:rm': Rm,
  'container:wait': Wait,
  'container:ls': Ps,
  'container:list': Ps,
  'container:ps': Ps,
  'container:logs': Logs,
  'container:rename': Rename,
  'container:restart': Restart,
  'container:inspect': ContainerInspect,
  'container:exists': ContainerExists,
  'container:prune': ContainerPrune,
  'container:cleanup': ContainerCleanup,
  pull: Pull,
  images: Images,
  rmi: Rmi,
  tag: Tag,
  untag: Untag,
  inspect: Inspect,
  info: Info,
  login: Login,
  logout: Logout,
  'image:pull': Pull,
  'image:ls': Images,
  'image:list': Images,
  'image:rm': Rmi,
  'image:tag': Tag,
  'image:untag': Untag,
  'image:inspect': ImageInspect,
  'image:exists': ImageExists,
  'image:prune': ImagePrune,
  'volume:create': VolumeCreate,
  'volume:ls': VolumeLs,
  'volume:list': VolumeLs,
  'volume:inspect': VolumeInspect,
  'volume:rm': VolumeRm,
  'volume:remove': VolumeRm,
  'volume:prune': VolumePrune,
  'volume:exists': VolumeExists,
  // Runtime operator commands.
  pause: Pause,
  unpause: Unpause,
  top: Top,
  stats: Stats,
  update: Update,
  init: Init,
  events: Events,
  port: Port,
  'container:pause': Pause,
  'container:unpause': Unpause,
  'container:top': Top,
  'container:stats': Stats,
  'container:update': Update,
  'container:init': Init,
  'container:port': Port,
  'system:events': Events,
  // terminals and streams
  attach: Attach,
  exec: Exec,
  'container:attach': Attach,
  'container:exec': Exec,
  // container filesystem commands
  diff: Diff,
  mount: Mount,
  unmount: Unmount,
  umount: Unmount,
  export: Export,
  cp: Cp,
  commit: Commit,
  'container:diff': Diff,
  'container:mount': Mount,
  'container:unmount': Unmount,
  'container:umount': Unmount,
  'container:export': Export,
  'container:cp': Cp,
  'container:commit': Commit,
  // networking (feat/net)
  'network:create': NetworkCreate,
  'network:ls': NetworkLs,
  'network:list': NetworkLs,
  'network:inspect': NetworkInspect,
  'network:rm': NetworkRm,
  'network:remove': NetworkRm,
  'network:prune': NetworkPrune,
  'network:exists': NetworkExists,
  'network:connect': NetworkConnect,
  'network:disconnect': NetworkDisconnect,
  // system
  'system:check': SystemCheck,
  // images in and out (feat/imgio)
  save: Save,
  load: Load,
  'image:save': Save,
  'image:load': Load,
  push: Push,
  'image:push': Push,
  import: Import,
  'image:import': Import,
  history: ImageHistory,
  'image:history': ImageHistory,
  // rootless
  unshare: Unshare,
  'system:migrate': SystemMigrate,
};

/**
 * Commands whose modules the full snapshot (dist/skiff.blob) holds already
 * evaluated: the container life cycle, which scripts and systemd units run
 * most. version and ps have the light entry (src/cli/lite.ts).
 */
export const HOT_COMMANDS = ['run', 'create', 'start', 'stop', 'rm', 'kill', 'exec', 'container:cleanup', 'logs', 'inspect', 'wait', 'images', 'pull'];

/**
 * Commands that run for tens of milliseconds and do no heavy JavaScript
 * work: V8's optimizing compiler is turned off for them
 * (src/lib/util/tiering.ts). Not run and exec (they stream a container's
 * output for as long as it runs), logs, inspect and the image commands.
 * create may pull, which turns it back on.
 */
export const SHORT_COMMANDS: ReadonlySet<string> = commandIds([Create, Start, Stop, Kill, Rm, Restart, Wait, Rename, Pause, Unpause, ContainerExists, ContainerCleanup]);

/** Every id (podman's aliases included) whose loader is one of `loaders`. */
function commandIds(loaders: CommandLoader[]): ReadonlySet<string> {
  return new Set(Object.keys(COMMANDS).filter((id) => loaders.includes(COMMANDS[id])));
}

export async function loadCommand(id: string): Promise<typeof SkiffCommand> {
  return (await COMMANDS[id]()).default;
}

/** Every command class by id (help, man pages, tests). */
export async function loadAllCommands(): Promise<Record<string, typeof SkiffCommand>> {
  const ids = Object.keys(COMMANDS);
  const classes = await Promise.all(ids.map((id) => loadCommand(id)));
  return Object.fromEntries(ids.map((id, i) => [id, classes[i]]));
}

