/** Writing a pulled stream of chunks to a Writable with backpressure (waits for 'drain'). */
import type {Writable} from 'node:stream';

export async function writeStream(src: AsyncIterable<Buffer>, w: Writable): Promise<void> {
  for await (const chunk of src) {
    if (w.write(chunk)) continue;
    await new Promise<void>((resolve, reject) => {
      const onDrain = () => {
        w.off('error', onError);
        resolve();
      };
      const onError = (err: Error) => {
        w.off('drain', onDrain);
        reject(err);
      };
      w.once('drain', onDrain);
      w.once('error', onError);
    });
  }
}
