/**
 * A client of conmon's attach socket (<bundle>/attach, AF_UNIX
 * SOCK_SEQPACKET, which Node's net module cannot open: the native addon
 * connects it, through /proc/self/fd/N of the socket's directory so paths
 * longer than sockaddr_un's 108 bytes work).
 *
 * Protocol (conmon 2.1 src/ctr_stdio.c, src/conn_sock.c): every packet conmon
 * sends is one read of the container's stdout or stderr, prefixed by one byte
 * naming the stream (2 stdout, 3 stderr; with a tty everything arrives as 2).
 * Bytes the client writes go to the container's stdin as they are (when conmon
 * was started with -i); conmon reads at most 32 KiB per packet, so stdin is
 * written in chunks no larger. When conmon reads end of input from a client
 * (a shutdown of its write side, or a zero-length packet), it closes the
 * container's stdin (unless --leave-stdin-open). When the container exits,
 * conmon drains its output to every client and closes the connection: a
 * read returns 0 and the session ends. Detaching takes care of a conmon bug:
 * see hangUp().
 *
 * Reads and writes are plain fs.read/fs.write on the blocking fd, so they run
 * on libuv's threadpool (one thread parked in read for the session, one in
 * write while stdin data is pending) and SEQPACKET keeps each frame whole.
 * Connect before `runtime start` so no output is lost.
 */
import * as fs from 'node:fs';
import type {Readable, Writable} from 'node:stream';
import {SkiffError} from '../util/errors';
import {log} from '../util/log';
import {SHUT, sendEmptyMessage, shutdownSocket, socketOutq, unixSeqpacketConnect} from '../util/native';

export const STREAM_STDOUT = 2;
export const STREAM_STDERR = 3;
/** conmon reads the attach socket into a 32 KiB buffer; a larger packet would be cut. */
const STDIN_CHUNK = 32 * 1024;
/** conmon sends at most 8192 bytes of output plus the stream byte per packet. */
const READ_BUF = 64 * 1024;
/** How long a detaching client waits for conmon to read its end of input (see hangUp()). */
const HANGUP_WAIT_MS = 3000;

export interface AttachStreams {
  /** Fed to the container's stdin; at its end the write side is shut down (EOF for the container). */
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
  /**
   * Byte sequence typed on stdin that detaches (e.g. [16, 17] for ctrl-p,ctrl-q);
   * those bytes are not sent. Detaching leaves the container running.
   */
  detachKeys?: Uint8Array;
  onDetach?: () => void;
}

export interface AttachResult {
  /** true when the client detached; false when conmon closed the socket (the container exited). */
  detached: boolean;
}

export interface AttachSession {
  /** Settles when the session ends; rejects only on an I/O error of the socket itself. */
  readonly done: Promise<AttachResult>;
  /** Ends the session now, leaving the container running. */
  detach(): void;
}

/**
 * Connects to the attach socket (synchronously, so the caller can start the
 * container right after) and starts copying. Throws 'not-found' when no
 * conmon listens there (the container is not running), else 'internal'.
 */
export function openAttach(socketPath: string, streams: AttachStreams): AttachSession {
  let fd: number;
  try {
    fd = unixSeqpacketConnect(socketPath);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ECONNREFUSED') throw new SkiffError('not-found', `no attach socket at ${socketPath}: the container is not running`, {cause: err});
    throw new SkiffError('internal', `connecting to attach socket ${socketPath}: ${(err as Error).message}`, {cause: err});
  }
  return new Session(fd, streams);
}

/** openAttach, resolving when the session ends. */
export function attach(socketPath: string, streams: AttachStreams): Promise<AttachResult> {
  return openAttach(socketPath, streams).done;
}

class Session implements AttachSession {
  readonly done: Promise<AttachResult>;
  private detached = false;
  private ended = false;
  private writing: Promise<void> = Promise.resolve();
  private shutWr = false;
  private stopStdin: () => void = () => {};

  constructor(
    private readonly fd: number,
    private readonly streams: AttachStreams,
  ) {
    if (streams.stdin) this.pumpStdin(streams.stdin);
    this.done = this.readLoop().finally(() => this.close());
  }

  detach(): void {
    if (this.ended || this.detached) return;
    this.detached = true;
    this.stopStdin();
    void this.hangUp();
    this.streams.onDetach?.();
  }

  /**
   * Leaves conmon's socket so that conmon closes the container's stdin
   * (with -i) whatever the container is printing at that moment.
   *
   * conmon 2.1 (src/conn_sock.c, still so upstream) frees a client when it
   * has stopped both reading from it and writing to it. If a write of output
   * to the client fails (the client already shut down or closed its socket)
   * before conmon reads the client's end of input, the read that follows
   * frees the client inside terminate_remote_sock(), which then reads the
   * freed memory to decide whether to close the container's stdin, and
   * usually does not: the container never sees EOF (strace: write -> EPIPE,
   * shutdown(SHUT_WR), read -> 0, shutdown(SHUT_RD), close(sock), and no
   * close of the stdin pipe). So the client must keep its socket open and
   * readable until conmon has read the end of input: it sends it as a
   * zero-length packet, which conmon reads as EOF exactly as a shutdown, and
   * waits until SIOCOUTQ says the packet was consumed (conmon is single
   * threaded: it then closes stdin before writing to anyone again), reading
   * and dropping output meanwhile so conmon never blocks on a full queue.
   * Only then does it shut the socket down, which ends the read loop. conmon
   * reads the socket only while the container's stdin pipe has room, hence
   * the time limit.
   */
  private async hangUp(): Promise<void> {
    await this.writing;
    if (!this.ended && !this.shutWr) {
      this.shutWr = true;
      const deadline = Date.now() + HANGUP_WAIT_MS;
      try {
        let sent = false;
        for (let delay = 1; !this.ended && Date.now() < deadline; delay = Math.min(delay * 2, 50)) {
          if (!sent) sent = sendEmptyMessage(this.fd);
          if (sent && socketOutq(this.fd) === 0) break;
          await new Promise((r) => setTimeout(r, delay));
        }
      } catch (err) {
        log.debug(`attach: hanging up: ${(err as Error).message}`);
      }
    }
    // Ended meanwhile (conmon closed the connection): close() owns the fd now.
    if (this.ended) return;
    // Wakes the read parked in the threadpool: it returns 0.
    try {
      shutdownSocket(this.fd, SHUT.RDWR);
    } catch (err) {
      log.debug(`attach: shutdown: ${(err as Error).message}`);
    }
  }

  private async readLoop(): Promise<AttachResult> {
    const buf = Buffer.allocUnsafe(READ_BUF);
    for (;;) {
      let n: number;
      try {
        n = await read(this.fd, buf);
      } catch (err) {
        if (this.detached) break;
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ECONNRESET' || code === 'EPIPE') break;
        throw new SkiffError('internal', `reading the attach socket: ${(err as Error).message}`, {cause: err});
      }
      if (n === 0) break;
      const tag = buf[0];
      if (n === 1) continue;
      const data = Buffer.from(buf.subarray(1, n));
      const out = tag === STREAM_STDOUT ? this.streams.stdout : tag === STREAM_STDERR ? this.streams.stderr : undefined;
      if (tag !== STREAM_STDOUT && tag !== STREAM_STDERR) log.debug(`attach: ignoring a frame for stream ${tag}`);
      // Output that arrives while detaching is dropped.
      if (out && !this.detached) await writeWithBackpressure(out, data);
    }
    this.ended = true;
    return {detached: this.detached};
  }

  private pumpStdin(stdin: Readable): void {
    const keys = this.streams.detachKeys && this.streams.detachKeys.length > 0 ? Buffer.from(this.streams.detachKeys) : undefined;
    let matched = 0; // bytes of `keys` seen at the end of the input so far, held back
    const onData = (chunk: Buffer | string) => {
      let data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      if (keys) {
        const r = scanDetach(keys, matched, data);
        matched = r.matched;
        data = r.forward;
        if (r.detach) {
          if (data.length) this.send(data);
          void this.writing.then(() => this.detach());
          return;
        }
      }
      if (data.length === 0) return;
      stdin.pause();
      this.send(data);
      void this.writing.then(() => {
        if (!this.ended && !this.detached) stdin.resume();
      });
    };
    const onEnd = () => {
      cleanup();
      // A partial detach sequence at the very end was input after all.
      if (keys && matched > 0) this.send(Buffer.from(keys.subarray(0, matched)));
      matched = 0;
      void this.writing.then(() => this.shutdownWrite());
    };
    const onError = (err: Error) => {
      log.debug(`attach: stdin: ${err.message}`);
      onEnd();
    };
    const cleanup = () => {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.off('error', onError);
    };
    this.stopStdin = () => {
      cleanup();
      stdin.pause();
    };
    stdin.on('data', onData);
    stdin.once('end', onEnd);
    stdin.once('error', onError);
  }

  /** Queues stdin bytes, in packets conmon can take whole. */
  private send(data: Buffer): void {
    this.writing = this.writing.then(async () => {
      for (let off = 0; off < data.length && !this.ended && !this.shutWr; off += STDIN_CHUNK) {
        try {
          await writeAll(this.fd, data.subarray(off, off + STDIN_CHUNK));
        } catch (err) {
          // The container's stdin is gone (conmon closed the connection): drop the rest.
          log.debug(`attach: writing stdin: ${(err as Error).message}`);
          this.shutWr = true;
        }
      }
    });
  }

  private shutdownWrite(): void {
    if (this.ended || this.shutWr) return;
    this.shutWr = true;
    try {
      shutdownSocket(this.fd, SHUT.WR);
    } catch (err) {
      log.debug(`attach: shutdown(SHUT_WR): ${(err as Error).message}`);
    }
  }

  private async close(): Promise<void> {
    this.ended = true;
    this.stopStdin();
    await this.writing;
    await new Promise<void>((resolve) => fs.close(this.fd, () => resolve()));
  }
}

function read(fd: number, buf: Buffer): Promise<number> {
  return new Promise((resolve, reject) => fs.read(fd, buf, 0, buf.length, null, (err, n) => (err ? reject(err) : resolve(n))));
}

async function writeAll(fd: number, data: Buffer): Promise<void> {
  // A SEQPACKET write is all or nothing, but be exact anyway.
  for (let off = 0; off < data.length; ) {
    const n = await new Promise<number>((resolve, reject) => fs.write(fd, data, off, data.length - off, null, (err, w) => (err ? reject(err) : resolve(w))));
    off += n;
  }
}

function writeWithBackpressure(out: Writable, data: Buffer): Promise<void> {
  return new Promise((resolve) => {
    if (out.destroyed || out.writableEnded) return resolve();
    const ok = out.write(data);
    if (ok) return resolve();
    const done = () => {
      out.off('drain', done);
      out.off('close', done);
      out.off('error', done);
      resolve();
    };
    out.once('drain', done);
    out.once('close', done);
    out.once('error', done);
  });
}

/**
 * Finds a detach sequence in stdin data that may straddle chunks. `matched`
 * bytes of `keys` ended the previous chunk and were held back; returns the
 * bytes to forward, how much of `keys` this chunk leaves pending, and whether
 * the whole sequence was typed.
 */
export function scanDetach(keys: Uint8Array, matched: number, data: Uint8Array): {forward: Buffer; matched: number; detach: boolean} {
  const out: number[] = [];
  const pending = Array.from(keys.subarray(0, matched));
  for (const b of data) {
    pending.push(b);
    // Release bytes from the front until what is held is a prefix of the sequence again.
    while (pending.length > 0 && !pending.every((x, i) => x === keys[i])) out.push(pending.shift() as number);
    if (pending.length === keys.length) return {forward: Buffer.from(out), matched: 0, detach: true};
  }
  return {forward: Buffer.from(out), matched: pending.length, detach: false};
}
