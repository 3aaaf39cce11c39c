/**
 * Writes an outer archive (docker-archive, oci-archive) to a stream,
 * honouring backpressure. Each member's size must be known up front.
 */
import type {Writable} from 'node:stream';
import {encodeHeader, END_OF_ARCHIVE, padding} from '../../storage/layer-tar/header';
import {storageError} from '../../util/errors';

export class TarOut {
  private readonly mtime = Math.floor(Date.now() / 1000);
  constructor(private readonly out: Writable) {}

  async write(b: Buffer): Promise<void> {
    if (this.out.write(b)) return;
    await new Promise<void>((resolve, reject) => {
      const onErr = (e: Error) => {
        this.out.off('drain', onDrain);
        reject(e);
      };
      const onDrain = () => {
        this.out.off('error', onErr);
        resolve();
      };
      this.out.once('drain', onDrain);
      this.out.once('error', onErr);
    });
  }

  async dir(name: string): Promise<void> {
    await this.write(encodeHeader({name: name.endsWith('/') ? name : `${name}/`, type: 'dir', mode: 0o755, mtime: this.mtime}));
  }

  async file(name: string, body: Buffer | AsyncIterable<Buffer>, size?: number): Promise<void> {
    const n = Buffer.isBuffer(body) ? body.length : size;
    if (n === undefined) throw new Error(`size of ${name} unknown`);
    await this.write(encodeHeader({name, type: 'file', mode: 0o644, size: n, mtime: this.mtime}));
    let seen = 0;
    if (Buffer.isBuffer(body)) {
      await this.write(body);
      seen = body.length;
    } else {
      for await (const c of body) {
        seen += c.length;
        if (seen > n) break;
        await this.write(c);
      }
    }
    if (seen !== n) throw storageError(`${name}: expected ${n} bytes, the layer produced ${seen > n ? 'more' : seen}`);
    const pad = padding(n);
    if (pad) await this.write(Buffer.alloc(pad));
  }

  async end(): Promise<void> {
    await this.write(END_OF_ARCHIVE);
  }
}
