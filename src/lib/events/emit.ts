/** The one-line helpers services call to record what they changed. */
import type {Paths} from '../state/paths';
import type {ContainerConfig} from '../container/types';
import {emitEvent} from './log';

export function containerEvent(paths: Paths, c: Pick<ContainerConfig, 'id' | 'name' | 'imageName' | 'labels'>, status: string, extra: {exitCode?: number; attributes?: Record<string, string>} = {}): Promise<void> {
  return emitEvent(paths, {
    ContainerExitCode: extra.exitCode,
    ID: c.id,
    Image: c.imageName,
    Name: c.name,
    Status: status,
    Type: 'container',
    Attributes: {...c.labels, ...extra.attributes},
  });
}

export function imageEvent(paths: Paths, id: string, name: string, status: string): Promise<void> {
  return emitEvent(paths, {ID: id, Name: name, Status: status, Type: 'image'});
}

export function volumeEvent(paths: Paths, name: string, status: string): Promise<void> {
  return emitEvent(paths, {Name: name, Status: status, Type: 'volume'});
}
