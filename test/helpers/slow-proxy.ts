/** A TCP proxy on 127.0.0.1 that forwards server→client bytes at a bounded rate, to make pulls slow enough to interrupt. */
import * as net from 'node:net';

export interface SlowProxy {
  host: string;
  close(): Promise<void>;
}

export function slowProxy(upstreamPort: number, bytesPerSecond: number): Promise<SlowProxy> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const up = net.connect(upstreamPort, '127.0.0.1');
    sockets.add(client).add(up);
    const tickMs = 20;
    const perTick = Math.max(1, Math.floor((bytesPerSecond * tickMs) / 1000));
    const queue: Buffer[] = [];
    let closed = false;
    const timer = setInterval(() => {
      let budget = perTick;
      while (budget > 0 && queue.length) {
        const b = queue[0];
        if (b.length <= budget) {
          client.write(queue.shift()!);
          budget -= b.length;
        } else {
          client.write(b.subarray(0, budget));
          queue[0] = b.subarray(budget);
          budget = 0;
        }
      }
      if (queue.length === 0 && up.destroyed) client.end();
    }, tickMs);
    up.on('data', (d) => queue.push(d));
    client.on('data', (d) => up.write(d));
    const done = () => {
      clearInterval(timer);
      queue.length = 0; // lets a pending drain wait below finish
      closed = true;
      client.destroy();
      up.destroy();
      sockets.delete(client);
      sockets.delete(up);
    };
    client.on('close', done);
    client.on('error', done);
    up.on('error', done);
    up.on('end', () => {
      const wait = setInterval(() => {
        if (queue.length === 0 || closed) {
          clearInterval(wait);
          client.end();
        }
      }, tickMs);
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      resolve({
        host: `127.0.0.1:${port}`,
        close: () =>
          new Promise<void>((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      });
    });
  });
}
