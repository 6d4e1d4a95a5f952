/**
 * Writes newt frames to a pipe: Bun's FileSink (`proc.stdin` of a spawned mars,
 * `Bun.stdout.writer()` in mars) or anything shaped like it.
 *
 * - Sends are queued: frames never interleave, and they leave in call order.
 * - Large bodies go out in FRAME_WRITE_CHUNK_BYTES pieces, each followed by an awaited
 *   `flush()`: an unawaited FileSink buffers without limit (docs/platform.md: 200 MiB queued
 *   made 457 MB RSS).
 * - Every write/flush failure becomes a pipe error, `IpcErrorCode.pipe` (an unhandled EPIPE
 *   rejection would exit the process). A send's promise is marked handled before it is returned, so even a send
 *   nobody awaits cannot crash the process; its error is also kept in `failure`.
 * - After a failure, or once `close()` was called, every further send rejects with a pipe error.
 */
import { assert, PleaError } from "../error.ts";
import type { Noun } from "../noun/index.ts";
import { jam } from "../noun/jam.ts";
import { measureJam, type JamMeasure } from "../noun/jam-length.ts";
import { jamToSink } from "../noun/jam-stream.ts";
import { IpcErrorCode } from "./errors.ts";
import { encodeFrameHeader, NEWT_HEADER_BYTES } from "./newt.ts";

/**
 * Bytes per write (and per awaited flush) for large bodies: 1 MiB measured 1.26 GB/s into a
 * child's stdin (docs/platform.md), and bounds what the sink buffers.
 */
export const FRAME_WRITE_CHUNK_BYTES = 1024 * 1024;

/** The part of Bun's FileSink the writer uses. */
export interface ByteSink {
  write(chunk: Uint8Array): number | Promise<number>;
  flush(): number | Promise<number> | void;
  end?(): number | Promise<number> | void;
}

export interface FrameWriterOptions {
  /** Bytes per write for large bodies. Default FRAME_WRITE_CHUNK_BYTES. */
  chunkBytes?: number;
  /** What the pipe is, for error messages ("mars's stdin"). Default "the pipe". */
  name?: string;
}

const noop = (): void => {};

export class FrameWriter {
  readonly chunkBytes: number;
  readonly name: string;
  private readonly sink: ByteSink;
  /** Tail of the send queue; never rejects. */
  private queue: Promise<void> = Promise.resolve();
  private failed: PleaError | undefined = undefined;
  private closing = false;

  constructor(sink: ByteSink, options: FrameWriterOptions = {}) {
    this.sink = sink;
    this.chunkBytes = options.chunkBytes ?? FRAME_WRITE_CHUNK_BYTES;
    assert(Number.isInteger(this.chunkBytes) && this.chunkBytes > 0, `chunkBytes ${this.chunkBytes} is positive`);
    this.name = options.name ?? "the pipe";
  }

  /** The error that stopped this writer, if any (later sends reject with a pipe error). */
  get failure(): PleaError | undefined {
    return this.failed;
  }

  /** True once `close()` was called or a send failed. */
  get closed(): boolean {
    return this.closing || this.failed !== undefined;
  }

  /**
   * Jams `noun` and sends it as one frame. The jam is held in memory once; for nouns whose jam
   * is large (file-backed atoms, hundreds of MiB) use `sendStream`.
   * @throws PleaError: `newt_unframeable` (nothing sent), a pipe error (`IpcErrorCode.pipe`).
   */
  send(noun: Noun): Promise<void> {
    return this.enqueue(() => this.writeBody(jam(noun)));
  }

  /** Sends already-jammed bytes as one frame (not copied unless small). */
  sendBody(body: Uint8Array): Promise<void> {
    return this.enqueue(() => this.writeBody(body));
  }

  /**
   * Jams `noun` straight into the pipe in `chunkBytes` pieces, never holding the whole jam.
   * The header needs the length first: pass `bodyLength` if known (a `measureJam` result also
   * gives the plan the jam replays, so a noun measured already is not walked for it twice), else
   * `measureJam` measures it (jam's walk with nothing stored: file-backed atoms are read only at
   * their last byte). If the second pass
   * yields another length (a file changed in between) the frame cannot be finished: the writer
   * ends the pipe and fails with `newt_length_mismatch`, and the peer sees a truncated frame.
   * `onProgress` hears the body bytes written so far after each chunk.
   * @throws PleaError (`newt_unframeable` before anything is sent, `newt_length_mismatch`),
   *   a pipe error, or the jam's own error (for instance FileAtomError).
   */
  sendStream(noun: Noun, bodyLength?: number | JamMeasure, onProgress?: (bytesSent: number, bodyLength: number) => void): Promise<void> {
    return this.enqueue(async () => {
      // Measuring records the jam dictionary's answers; the jam below replays them.
      const measured = bodyLength === undefined ? measureJam(noun) : typeof bodyLength === "number" ? undefined : bodyLength;
      const length = typeof bodyLength === "number" ? bodyLength : measured!.bytes;
      const header = encodeFrameHeader(length);
      await this.writeAndFlush(header);
      let sent = 0;
      try {
        await jamToSink(
          noun,
          {
            write: async (chunk: Uint8Array) => {
              sent += chunk.length;
              if (sent > length) throw this.mismatch(length, sent);
              await this.writeAndFlush(chunk);
              onProgress?.(sent, length);
            },
          },
          this.chunkBytes,
          measured?.plan,
        );
        if (sent !== length) throw this.mismatch(length, sent);
      } catch (e) {
        throw this.breakMidFrame(e);
      }
    });
  }

  /**
   * Sends a body of `bodyLength` bytes given as chunks (forwarding a streamed frame, for
   * instance). Fails like `sendStream` if the chunks do not add up to `bodyLength`.
   */
  sendChunks(bodyLength: number, chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<void> {
    return this.enqueue(async () => {
      await this.writeAndFlush(encodeFrameHeader(bodyLength));
      let sent = 0;
      try {
        for await (const chunk of chunks) {
          sent += chunk.length;
          if (sent > bodyLength) throw this.mismatch(bodyLength, sent);
          for (let pos = 0; pos < chunk.length; pos += this.chunkBytes) {
            await this.writeAndFlush(chunk.subarray(pos, Math.min(chunk.length, pos + this.chunkBytes)));
          }
        }
        if (sent !== bodyLength) throw this.mismatch(bodyLength, sent);
      } catch (e) {
        throw this.breakMidFrame(e);
      }
    });
  }

  /**
   * Ends the pipe after the queued sends (the peer reads EOF). Never rejects: a peer that is
   * already gone is what closing wanted anyway.
   */
  close(): Promise<void> {
    const done = this.queue.then(async () => {
      if (this.closing) return;
      this.closing = true;
      try {
        await this.sink.end?.();
      } catch {
        // The peer is gone already: nothing left to tell it.
      }
    });
    this.queue = done.then(noop, noop);
    return this.queue;
  }

  private enqueue(op: () => Promise<void>): Promise<void> {
    const run = this.queue.then(() => {
      if (this.failed !== undefined) {
        throw new PleaError(IpcErrorCode.pipe.broken, `Cannot send on ${this.name}: an earlier send failed (${this.failed.message})`, { cause: this.failed });
      }
      if (this.closing) throw new PleaError(IpcErrorCode.pipe.closed, `Cannot send on ${this.name}: it was closed`);
      return op();
    });
    // Handling `run` here keeps an ignored send from becoming an unhandled rejection; callers
    // that await it still see the error.
    this.queue = run.then(noop, noop);
    return run;
  }

  private async writeBody(body: Uint8Array): Promise<void> {
    const header = encodeFrameHeader(body.length);
    if (body.length <= this.chunkBytes) {
      // One write per small frame: a copy of a few bytes beats a second syscall.
      const whole = new Uint8Array(NEWT_HEADER_BYTES + body.length);
      whole.set(header, 0);
      whole.set(body, NEWT_HEADER_BYTES);
      await this.writeAndFlush(whole);
      return;
    }
    await this.writeAndFlush(header);
    try {
      for (let pos = 0; pos < body.length; pos += this.chunkBytes) {
        await this.writeAndFlush(body.subarray(pos, Math.min(body.length, pos + this.chunkBytes)));
      }
    } catch (e) {
      throw this.breakMidFrame(e);
    }
  }

  private async writeAndFlush(chunk: Uint8Array): Promise<void> {
    try {
      const w = this.sink.write(chunk);
      if (typeof w !== "number") await w;
      await this.sink.flush();
    } catch (cause) {
      throw this.peerGone(cause);
    }
  }

  private peerGone(cause: unknown): PleaError {
    const detail = cause instanceof Error ? cause.message : String(cause);
    const e = new PleaError(IpcErrorCode.pipe.peerClosed, `Cannot write to ${this.name}: the reading end is closed (${detail}); the peer exited or closed it`, { cause });
    this.failed ??= e;
    return e;
  }

  private mismatch(announced: number, got: number): PleaError {
    return new PleaError(
      IpcErrorCode.newt.lengthMismatch,
      `A streamed body on ${this.name} came to ${got > announced ? "more than " : ""}${got} bytes after its header announced ${announced}: the pipe cannot carry further frames (did a file change during the send?)`,
    );
  }

  /**
   * A send stopped between a header and the end of its body: the peer can no longer find frame
   * boundaries, so the writer is finished and the pipe is ended (the peer then reads a
   * truncated frame instead of waiting for bytes that will never come).
   */
  private breakMidFrame(e: unknown): unknown {
    if (this.failed === undefined) {
      this.failed = e instanceof PleaError ? e : new PleaError(IpcErrorCode.pipe.broken, `A send on ${this.name} failed mid-frame: ${String(e)}`, { cause: e });
    }
    try {
      const r = this.sink.end?.();
      if (r instanceof Promise) r.catch(noop);
    } catch {
      // Already closed.
    }
    return e;
  }
}

/** Byte length of `noun`'s jam, by a jam pass into a sink that only counts. */
