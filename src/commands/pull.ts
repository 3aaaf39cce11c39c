import {Args, Flags} from '../cli/params';
import {SkiffCommand} from '../cli/base';
import {bool} from '../cli/flags';
import {pullProgress} from '../cli/progress';
import {parseCreds} from '../cli/creds';
import {parsePlatform} from '../lib/image/manifest';
import {chooseOnTerminal} from '../cli/prompt';
import {invalidInput} from '../lib/util/errors';

export default class Pull extends SkiffCommand {
  static override summary = 'Pull an image from a registry';
  static override description = 'Pulls IMAGE (name[:tag][@digest]) into local storage. Short names are resolved through registries.conf. The image ID is printed last.';
  static override strict = false;
  static override args = {image: Args.string({required: true, description: 'image to pull'})};
  static override flags = {
    quiet: Flags.boolean({char: 'q', description: 'suppress progress output; print only the image ID'}),
    platform: Flags.string({description: 'pull the image for this OS/ARCH[/VARIANT]'}),
    arch: Flags.string({description: 'use ARCH instead of the host architecture'}),
    os: Flags.string({description: 'use OS instead of the host OS'}),
    variant: Flags.string({description: 'use VARIANT instead of the default architecture variant'}),
    'tls-verify': bool({description: 'require HTTPS and verify certificates (default from registries.conf)'}),
    creds: Flags.string({description: 'use USERNAME[:PASSWORD] for accessing the registry'}),
    authfile: Flags.string({description: 'path of the authentication file (default ${XDG_RUNTIME_DIR}/containers/auth.json)'}),
    'cert-dir': Flags.string({description: 'use certificates at PATH (*.crt, *.cert, *.key) to connect to the registry'}),
    retry: Flags.integer({description: 'number of times to retry in case of failure', default: 3, min: 0}),
    'retry-delay': Flags.string({description: 'delay between retries (e.g. 2s); default exponential backoff'}),
  };

  async run(): Promise<void> {
    const {flags, argv} = await this.parseArgs(Pull);
    const engine = await this.engine(flags);
    if (flags.platform && (flags.os || flags.arch || flags.variant)) throw invalidInput('--platform cannot be used with --os, --arch or --variant');
    const platform = flags.platform ? parsePlatform(flags.platform) : {os: flags.os, architecture: flags.arch, variant: flags.variant};
    const retryDelayMs = flags['retry-delay'] ? parseDelay(flags['retry-delay']) : undefined;
    for (const image of argv) {
      const progress = pullProgress({quiet: flags.quiet});
      try {
        const r = await engine.images.pull({
          reference: image,
          platform,
          tlsVerify: flags['tls-verify'],
          credentials: flags.creds ? await parseCreds(flags.creds) : undefined,
          authfile: flags.authfile,
          certDir: flags['cert-dir'],
          retries: flags.retry,
          retryDelayMs,
          events: progress.onEvent,
          chooseShortName: process.stdin.isTTY && process.stderr.isTTY ? chooseOnTerminal : undefined,
        });
        progress.finish();
        this.out(r.id);
      } catch (err) {
        progress.finish();
        throw err;
      }
    }
  }
}

function parseDelay(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(s);
  if (!m) throw invalidInput(`invalid --retry-delay "${s}": use e.g. 500ms, 2s or 1m`);
  return Number(m[1]) * ({ms: 1, s: 1000, m: 60000}[m[2] ?? 's'] as number);
}
