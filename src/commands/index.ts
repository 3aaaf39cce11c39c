/**
 * Every command, by oclif id ("image:ls" is `skiff image ls`). This map is
 * the explicit command strategy's target (package.json oclif.commands), and
 * src/cli/main.ts dispatches straight from it without a command search.
 */
import type {SkiffCommand} from '../cli/base';
import Version from './version';

export const COMMANDS: Record<string, typeof SkiffCommand> = {
  version: Version,
};
