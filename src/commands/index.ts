/**
 * Every command, by oclif id ("image:ls" is `skiff image ls`). This map is
 * the explicit command strategy's target (package.json oclif.commands), and
 * src/cli/main.ts dispatches straight from it without a command search.
 * podman's aliases (images = image ls = image list) are entries of their own
 * pointing at the same class.
 */
import type {SkiffCommand} from '../cli/base';
import Version from './version';
import Pull from './pull';
import Images from './images';
import Rmi from './rmi';
import Tag from './tag';
import Untag from './untag';
import Inspect from './inspect';
import ImageInspect from './image/inspect';
import ImageExists from './image/exists';
import ImagePrune from './image/prune';
import Info from './info';
import Login from './login';
import Logout from './logout';
import Create from './create';
import Run from './run';
import Start from './start';
import Stop from './stop';
import Kill from './kill';
import Rm from './rm';
import Wait from './wait';
import Ps from './ps';
import Logs from './logs';
import Rename from './rename';
import Restart from './restart';
import ContainerInspect from './container/inspect';
import ContainerExists from './container/exists';
import ContainerPrune from './container/prune';
import ContainerCleanup from './container/cleanup';
import VolumeCreate from './volume/create';
import VolumeLs from './volume/ls';
import VolumeInspect from './volume/inspect';
import VolumeRm from './volume/rm';
import VolumePrune from './volume/prune';
import VolumeExists from './volume/exists';
// Runtime operator commands (pause/unpause, top, stats, update, init, events, port).
import Pause from './pause';
import Unpause from './unpause';
import Top from './top';
import Stats from './stats';
import Update from './update';
import Init from './init';
import Events from './events';
import Port from './port';
// terminals and streams
import Attach from './attach';
import Exec from './exec';
// container filesystem commands (diff, mount, unmount, export, cp, commit)
import Diff from './diff';
import Mount from './mount';
import Unmount from './unmount';
import Export from './export';
import Cp from './cp';
import Commit from './commit';
// networking (feat/net)
import NetworkCreate from './network/create';
import NetworkLs from './network/ls';
import NetworkInspect from './network/inspect';
import NetworkRm from './network/rm';
import NetworkPrune from './network/prune';
import NetworkExists from './network/exists';
import NetworkConnect from './network/connect';
import NetworkDisconnect from './network/disconnect';
// system (fault/consistency work)
import SystemCheck from './system/check';
// rootless
import Unshare from './unshare';
import SystemMigrate from './system/migrate';
// images in and out (feat/imgio)
import Save from './save';
import Load from './load';
import Push from './push';
import Import from './import';
import ImageHistory from './image/history';

export const COMMANDS: Record<string, typeof SkiffCommand> = {
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
  // rootless
  unshare: Unshare,
  'system:migrate': SystemMigrate,
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
};
