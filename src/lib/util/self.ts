/**
 * How to run skiff again (conmon's exit command): the single binary, or
 * node with the bundle. Set by src/cli/main.ts at start-up, which knows
 * where it was started from.
 */
let self: string[] | undefined;

export function setSelfCommand(argv: string[]): void {
  self = argv;
}

export function selfCommand(): string[] {
  if (!self) throw new Error('skiff: the command to re-run skiff is unknown');
  return self;
}
