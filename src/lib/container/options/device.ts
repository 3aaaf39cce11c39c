/**
 * --device HOST[:CONTAINER][:PERMISSIONS] (podman's ParseDevice): the
 * second field is a mode when it is one (a subset of "rwm"), else a path;
 * the container path defaults to the host path, permissions to rwm.
 */
import * as path from 'node:path';
import type {DeviceRequest} from '../types';
import {invalidInput} from '../../util/errors';

export function isDeviceMode(mode: string): boolean {
  return mode !== '' && [...mode].every((c, i) => 'rwm'.includes(c) && mode.indexOf(c) === i);
}

export function parseDevice(spec: string): DeviceRequest {
  const arr = spec.split(':');
  if (arr.length > 3 || arr[0] === '') throw invalidInput(`invalid device specification: ${spec}`);
  let containerPath = '';
  let permissions = 'rwm';
  if (arr.length === 3) {
    if (arr[2] === '') throw invalidInput(`empty device mode in device specification: ${spec}`);
    if (!isDeviceMode(arr[2])) throw invalidInput(`invalid device mode "${arr[2]}" in device "${spec}"`);
    permissions = arr[2];
  }
  if (arr.length >= 2) {
    if (isDeviceMode(arr[1]) && arr.length === 2) permissions = arr[1];
    else if (arr[1].startsWith('/')) containerPath = arr[1];
    else throw invalidInput(`invalid device mode "${arr[1]}" in device "${spec}"`);
  }
  const hostPath = arr[0];
  if (!hostPath.startsWith('/')) throw invalidInput(`invalid device specification: ${spec}: the host path must be absolute`);
  return {hostPath, containerPath: path.posix.normalize(containerPath || hostPath), permissions};
}
