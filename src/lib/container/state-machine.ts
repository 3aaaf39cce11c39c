/**
 * Container status changes go through transition() only (runc's
 * state_linux.go idea): one table, and a typed error naming both states for
 * a move the table does not allow.
 */
import {SkiffError} from '../util/errors';
import type {ContainerStatus} from './types';

type Action = 'start' | 'init' | 'started' | 'stop' | 'exited' | 'pause' | 'unpause' | 'remove' | 'reset';

const TABLE: Record<Action, {from: ContainerStatus[]; to: ContainerStatus}> = {
  // start: begin starting (mount, monitor); 'started' once the process runs.
  start: {from: ['created', 'stopped', 'exited'], to: 'created'},
  // init: the runtime has created the container (conmon runs), the process has not started.
  init: {from: ['created'], to: 'initialized'},
  started: {from: ['created', 'initialized'], to: 'running'},
  stop: {from: ['initialized', 'running', 'paused', 'stopping'], to: 'stopping'},
  exited: {from: ['initialized', 'running', 'stopping', 'paused', 'created'], to: 'exited'},
  pause: {from: ['running'], to: 'paused'},
  unpause: {from: ['paused'], to: 'running'},
  remove: {from: ['created', 'stopped', 'exited', 'removing'], to: 'removing'},
  // After a reboot or a lost monitor: whatever it was, it is not running now.
  reset: {from: ['created', 'initialized', 'running', 'paused', 'stopping', 'stopped', 'exited'], to: 'exited'},
};

export function canTransition(from: ContainerStatus, action: Action): boolean {
  return TABLE[action].from.includes(from);
}

export function transition(from: ContainerStatus, action: Action, what: string): ContainerStatus {
  if (canTransition(from, action)) return TABLE[action].to;
  if (action === 'remove') {
    throw new SkiffError('conflict', `cannot remove container ${what} as it is ${from} - running or paused containers cannot be removed without force: container state improper`);
  }
  throw new SkiffError('conflict', `cannot ${action} container ${what} in state "${from}": container state improper`);
}

export type {Action as TransitionAction};
