/**
 * --mount type=bind|volume|tmpfs,KEY[=VALUE],... (podman's
 * pkg/specgenutil/volumes.go): src|source, dst|target|destination|dest,
 * ro|readonly[=true|false], rw, bind-propagation, bind-nonrecursive,
 * relabel=private|shared, z, Z, U|chown[=true|false], [no]suid, [no]dev,
 * [no]exec, tmpfs-size, tmpfs-mode, [no]tmpcopyup, volume-nocopy,
 * consistency (ignored). Values may be double-quoted CSV fields.
 */
import * as path from 'node:path';
import type {MountRequest} from '../types';
import {invalidInput} from '../../util/errors';
import {checkVolumeName, containerDir} from './volume-opts';
import {sizeInBytes} from './size';

const PROPAGATIONS = ['shared', 'rshared', 'private', 'rprivate', 'slave', 'rslave', 'unbindable', 'runbindable'];

/** Splits a CSV line, honouring "quoted, fields" with "" for a quote. */
function csvFields(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (quoted) {
      if (ch === '"' && s[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (quoted) throw invalidInput(`invalid --mount "${s}": unterminated quote`);
  out.push(cur);
  return out;
}

function bool(name: string, value: string | undefined): boolean {
  if (value === undefined || value === 'true') return true;
  if (value === 'false') return false;
  throw invalidInput(`invalid --mount option ${name}=${value}: must be true or false`);
}

export function parseMount(spec: string, cwd: string = process.cwd()): MountRequest {
  const fields = csvFields(spec).filter((f) => f !== '');
  let type: string | undefined;
  let source: string | undefined;
  let destination: string | undefined;
  const options: string[] = [];
  let ro: boolean | undefined;
  let relabel: 'z' | 'Z' | undefined;
  let chown: boolean | undefined;
  let noCopy = false;
  let nonRecursive = false;
  const once = new Set<string>();
  const single = (key: string, label: string) => {
    if (once.has(key)) throw invalidInput(`cannot pass ${label} option more than once: must provide an argument for option`);
    once.add(key);
  };
  const need = (name: string, value: string | undefined): string => {
    if (value === undefined || value === '') throw invalidInput(`${name}: must provide an argument for option`);
    return value;
  };
  const only = (name: string, ...types: string[]) => {
    if (type !== undefined && !types.includes(type)) throw invalidInput(`"${name}" option not supported for "${type}" mount types`);
  };
  // type first, wherever it is, so per-type checks can use it
  for (const f of fields) if (f.startsWith('type=')) type = f.slice(5);
  if (!type) throw invalidInput(`invalid --mount "${spec}": type must be specified (bind, volume or tmpfs)`);
  if (!['bind', 'volume', 'tmpfs'].includes(type)) throw invalidInput(`invalid filesystem type "${type}"`);
  for (const f of fields) {
    const eq = f.indexOf('=');
    const name = eq < 0 ? f : f.slice(0, eq);
    const value = eq < 0 ? undefined : f.slice(eq + 1);
    switch (name) {
      case 'type':
        break;
      case 'src':
      case 'source':
        only(name, 'bind', 'volume');
        single('src', `"${name}"`);
        source = need(name, value);
        break;
      case 'target':
      case 'dst':
      case 'dest':
      case 'destination':
        single('dst', `"${name}"`);
        destination = need(name, value);
        break;
      case 'ro':
      case 'readonly':
      case 'rw':
      case 'readwrite':
        single('ro', "'readonly', 'ro', or 'rw'");
        ro = name.startsWith('r') && name !== 'rw' && name !== 'readwrite' ? bool(name, value) : !bool(name, value);
        break;
      case 'bind-propagation':
        only(name, 'bind');
        if (!PROPAGATIONS.includes(need(name, value))) throw invalidInput(`invalid value "${value}" for bind-propagation`);
        options.push(value as string);
        break;
      case 'bind-nonrecursive':
        only(name, 'bind');
        nonRecursive = bool(name, value);
        break;
      case 'relabel':
        if (value !== 'private' && value !== 'shared') throw invalidInput(`${name} mount option must be 'private' or 'shared': invalid mount option`);
        relabel = value === 'private' ? 'Z' : 'z';
        break;
      case 'z':
      case 'Z':
        relabel = name;
        break;
      case 'U':
      case 'chown':
        single('U', "'U' or 'chown'");
        chown = bool(name, value);
        break;
      case 'nosuid':
      case 'suid':
      case 'nodev':
      case 'dev':
      case 'noexec':
      case 'exec':
        single(name.replace(/^no/, ''), `'no${name.replace(/^no/, '')}' and '${name.replace(/^no/, '')}'`);
        options.push(name);
        break;
      case 'shared':
      case 'rshared':
      case 'private':
      case 'rprivate':
      case 'slave':
      case 'rslave':
      case 'unbindable':
      case 'runbindable':
        options.push(name);
        break;
      case 'tmpfs-size': {
        only(name, 'tmpfs');
        const n = sizeInBytes(need(name, value));
        if (n === undefined) throw invalidInput(`invalid value for tmpfs-size: invalid size: '${value}'`);
        options.push(`size=${n}`);
        break;
      }
      case 'tmpfs-mode':
        only(name, 'tmpfs');
        if (!/^[0-7]{1,4}$/.test(need(name, value))) throw invalidInput(`invalid value for tmpfs-mode: "${value}" is not an octal mode`);
        options.push(`mode=${value}`);
        break;
      case 'tmpcopyup':
      case 'notmpcopyup':
        only(name, 'tmpfs');
        single('tmpcopyup', "'tmpcopyup' and 'notmpcopyup'");
        options.push(name);
        break;
      case 'volume-nocopy':
      case 'nocopy':
        only(name, 'volume');
        noCopy = bool(name, value);
        break;
      case 'consistency':
        break;
      default:
        throw invalidInput(`${name}: invalid mount option`);
    }
  }
  if (destination === undefined) throw invalidInput('must set volume destination');
  const dst = containerDir(destination);
  if (ro !== undefined) options.unshift(ro ? 'ro' : 'rw');
  if (type === 'tmpfs') return {type: 'tmpfs', destination: dst, options};
  if (type === 'bind') {
    if (source === undefined) throw invalidInput('host directory cannot be empty');
    if (nonRecursive) options.push('bind');
    const req: MountRequest = {type: 'bind', source: path.resolve(cwd, source), destination: dst, options};
    if (relabel) req.relabel = relabel;
    if (chown) req.chown = true;
    return req;
  }
  if (source !== undefined) checkVolumeName(source);
  const req: MountRequest = {type: 'volume', name: source ?? '', destination: dst, options};
  if (source === undefined) req.anonymous = true;
  if (noCopy) req.noCopy = true;
  if (chown) req.chown = true;
  return req;
}
