import * as fs from 'node:fs';
import {Args, Flags} from '../cli/params';
import {SkiffCommand} from '../cli/base';
import {bool} from '../cli/flags';
import {pullProgress} from '../cli/progress';
import {parseCreds} from '../cli/creds';
import {invalidInput} from '../lib/util/errors';

export default class Push extends SkiffCommand {
  static override summary = 'Push an image to a registry';
  static override description =
    'Pushes IMAGE from local storage to DESTINATION (docker://REGISTRY/REPOSITORY[:TAG], or IMAGE itself). Layers the registry already has, or can mount from another repository, are not sent again; the others are rebuilt byte for byte from their tar-split and gzip-compressed, so pulling the pushed image gives the same image ID.';
  static override args = {
    image: Args.string({required: true, description: 'local image to push'}),
    destination: Args.string({required: false, description: 'where to push it (default: IMAGE)'}),
  };
  static override flags = {
    quiet: Flags.boolean({char: 'q', description: 'suppress progress output'}),
    format: Flags.string({char: 'f', description: 'manifest type: oci or v2s2 (default: that of the stored image)', options: ['oci', 'v2s2']}),
    digestfile: Flags.string({description: 'write the digest of the pushed manifest to FILE'}),
    'tls-verify': bool({description: 'require HTTPS and verify certificates (default from registries.conf)'}),
    creds: Flags.string({description: 'use USERNAME[:PASSWORD] for accessing the registry'}),
    authfile: Flags.string({description: 'path of the authentication file (default ${XDG_RUNTIME_DIR}/containers/auth.json)'}),
    'cert-dir': Flags.string({description: 'use certificates at PATH (*.crt, *.cert, *.key) to connect to the registry'}),
    retry: Flags.integer({description: 'number of times to retry in case of failure', default: 3, min: 0}),
    'compression-level': Flags.integer({description: 'gzip level (1-9) for layers that are compressed for this push (default 5, as podman)', min: 1, max: 9}),
    'chunk-size': Flags.integer({description: 'upload layers in chunks of this many bytes (Content-Range) instead of one stream', min: 1024, hidden: false}),
  };

  async run(): Promise<void> {
    const {flags, args} = await this.parseArgs(Push);
    const engine = await this.engine(flags);
    if (flags.authfile && !fs.existsSync(flags.authfile)) throw invalidInput(`credential file is not accessible: ${flags.authfile}: no such file or directory`);
    const progress = pullProgress({quiet: flags.quiet});
    if (!flags.quiet) process.stderr.write('Getting image source signatures\n');
    const {pushImage} = await import('../lib/image/push');
    try {
      await pushImage(engine.paths, engine.images, {
        source: args.image,
        destination: args.destination,
        format: flags.format as 'oci' | 'v2s2' | undefined,
        tlsVerify: flags['tls-verify'],
        credentials: flags.creds ? await parseCreds(flags.creds) : undefined,
        authfile: flags.authfile,
        certDir: flags['cert-dir'],
        retries: flags.retry,
        digestfile: flags.digestfile,
        compressionLevel: flags['compression-level'],
        chunkSize: flags['chunk-size'] ?? (process.env.SKIFF_PUSH_CHUNK_SIZE ? Number(process.env.SKIFF_PUSH_CHUNK_SIZE) : undefined),
        events: progress.onEvent,
      });
    } finally {
      progress.finish();
    }
  }
}
