/**
 * Read-ahead between a tar writer and its consumer: the source is pulled
 * into a bounded queue (limit bytes) while the consumer works on what is
 * already there, so file reads (on libuv's threads) overlap with the
 * consumer's writes (the extractor writes synchronously on the main
 * thread). The consumer gives the event loop one turn per chunk, so read
 * completions are handled while it is busy. Backpressure stays: the
 * producer waits when the queue is full.
 */
export async function* prefetch(src: AsyncIterable<Buffer>, limit = 8 << 20): AsyncGenerator<Buffer> {
  const it = src[Symbol.asyncIterator]();
  const queue: Buffer[] = [];
  let bytes = 0;
  let finished = false;
  let failed = false;
  let error: unknown;
  let stopped = false;
  let exhausted = false;
  let wakeConsumer: (() => void) | undefined;
  let wakeProducer: (() => void) | undefined;
  const producer = (async () => {
    try {
      for (;;) {
        while (bytes >= limit && !stopped) await new Promise<void>((r) => (wakeProducer = r));
        if (stopped) return;
        const r = await it.next();
        if (r.done) {
          exhausted = true;
          return;
        }
        queue.push(r.value);
        bytes += r.value.length;
        wakeConsumer?.();
        wakeConsumer = undefined;
      }
    } catch (err) {
      failed = true;
      error = err;
    } finally {
      finished = true;
      wakeConsumer?.();
      wakeConsumer = undefined;
    }
  })();
  try {
    for (;;) {
      const next = queue.shift();
      if (next) {
        bytes -= next.length;
        wakeProducer?.();
        wakeProducer = undefined;
        yield next;
        // One event-loop turn: completed reads are handed to the producer while we were busy.
        if (!finished) await new Promise<void>((r) => setImmediate(r));
        continue;
      }
      if (failed) throw error;
      if (finished) return;
      await new Promise<void>((r) => (wakeConsumer = r));
    }
  } finally {
    stopped = true;
    wakeProducer?.();
    await producer;
    if (!exhausted && !failed) await it.return?.(undefined);
  }
}
