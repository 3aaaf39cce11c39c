import {Flags} from '../cli/params';
import {SkiffCommand} from '../cli/base';
import {VERSION, BUILT} from '../lib/version';
import {goArch} from '../lib/util/platform';

export interface VersionReport {
  Client: {Version: string; APIVersion: string; NodeVersion: string; Built: number; BuiltTime: string; OsArch: string; Os: string};
}

export default class Version extends SkiffCommand {
  static override summary = 'Display the skiff version information';
  static override flags = {
    format: Flags.string({char: 'f', description: 'change the output format to JSON or a Go template'}),
  };

  async run(): Promise<void> {
    const {flags} = await this.parseArgs(Version);
    const built = BUILT ? new Date(BUILT) : undefined;
    const report: VersionReport = {
      Client: {
        Version: VERSION,
        APIVersion: VERSION,
        NodeVersion: process.version,
        Built: built ? Math.floor(built.getTime() / 1000) : 0,
        BuiltTime: built ? built.toUTCString() : '',
        OsArch: `${process.platform}/${goArch(process.arch)}`,
        Os: process.platform,
      },
    };
    if (flags.format) {
      const {renderOne} = await import('../cli/output');
      this.out(renderOne(report, flags.format));
      return;
    }
    const c = report.Client;
    this.out(
      [
        `Version:      ${c.Version}`,
        `API Version:  ${c.APIVersion}`,
        `Node Version: ${c.NodeVersion}`,
        `Built:        ${c.BuiltTime}`,
        `OS/Arch:      ${c.OsArch}`,
      ].join('\n'),
    );
  }
}
