/**
 * Reads newt frames from a pipe: a `ReadableStream<Uint8Array>` (Bun's `proc.stdout`,
 * `Bun.stdin.stream()`) or any async iterable of byte chunks.
 *
 *     const reader = new FrameReader(proc.stdout, { name: "mars's stdout" });
 *     for (let f; (f = await reader.next()); ) {
 *       const noun = await cueFrame(f);   // cue(f.body) or cueFromChunks(f.chunks)
 *     }
 *     // undefined: clean EOF between frames
 *
 * Bodies up to `wholeBodyBytesMax` (64 MiB by default) come whole, in one buffer of exactly
 * their length. Longer ones come as `stream` frames whose `chunks` pull from the pipe as they are
 * consumed, so a 2 GiB event passes through without being held twice. Consume (or abandon) a
 * stream frame's chunks before calling `next()` again; `next()` skips whatever was left.
 *
 * Errors: a newt error (`IpcErrorCode.newt`) for corrupt bytes or a frame cut short by EOF (a peer killed mid-write),
 * thrown by `next()` or by the chunks; `pipe_read_failed` if the stream errors.
 */
import { assert, PleaError } from "../error.ts";
import type { Noun } from "../noun/index.ts";
import { cue } from "../noun/cue.ts";
import { cueFromChunks } from "../noun/cue-stream.ts";
import { IpcErrorCode } from "./errors.ts";
import { NewtDecoder, type NewtDecoderOptions, type NewtItem } from "./newt.ts";

export type Frame =
  | { readonly kind: "whole"; readonly body: Uint8Array }
  | { readonly kind: "stream"; readonly length: number; readonly chunks: AsyncIterable<Uint8Array> };

export interface FrameReaderOptions extends NewtDecoderOptions {
  /** What the pipe is, for error messages ("mars's stdout"). Default "the pipe". */
  name?: string;
}

type Pull = () => Promise<IteratorResult<Uint8Array>>;

export class FrameReader implements AsyncIterable<Frame> {
  readonly name: string;
  private readonly decoder: NewtDecoder;
  private readonly pull: Pull;
  private readonly release: () => Promise<void>;
  private eof = false;
  /** A stream frame's body is still being delivered. */
  private inBody = false;
  /** A pull from the source is in flight (guards against concurrent use). */
  private busy = false;

  constructor(source: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>, options: FrameReaderOptions = {}) {
    this.name = options.name ?? "the pipe";
    this.decoder = new NewtDecoder(options);
    if (source instanceof ReadableStream) {
      const reader = source.getReader();
      this.pull = () => reader.read() as Promise<IteratorResult<Uint8Array>>;
      this.release = async () => {
        await reader.cancel().catch(() => {});
      };
    } else {
      const it = source[Symbol.asyncIterator]();
      this.pull = () => it.next();
      this.release = async () => {
        await Promise.resolve(it.return?.()).catch(() => {});
      };
    }
  }

  /**
   * The next frame, or `undefined` at a clean EOF (the stream ended between frames).
   * @throws PleaError: `IpcErrorCode.newt` (corrupt or truncated stream), `pipe_read_failed`.
   */
  async next(): Promise<Frame | undefined> {
    assert(!this.busy, "FrameReader.next() called while a read is in flight");
    while (this.inBody) {
      const item = await this.item();
      if (item === undefined || item.kind === "bodyEnd") this.inBody = false;
    }
    const item = await this.item();
    if (item === undefined) return undefined;
    if (item.kind === "body") return { kind: "whole", body: item.body };
    assert(item.kind === "bodyStart", `a frame starts with a body or bodyStart, not ${item.kind}`);
    this.inBody = true;
    return { kind: "stream", length: item.length, chunks: this.bodyChunks() };
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Frame> {
    for (let f = await this.next(); f !== undefined; f = await this.next()) yield f;
  }

  /** Stops reading and releases the source (cancels a ReadableStream). */
  async cancel(): Promise<void> {
    this.eof = true;
    await this.release();
  }

  private async *bodyChunks(): AsyncGenerator<Uint8Array> {
    while (this.inBody) {
      const item = await this.item();
      assert(item !== undefined, "a decoder inside a body reports truncation, not a clean end");
      if (item.kind === "bodyEnd") {
        this.inBody = false;
        return;
      }
      assert(item.kind === "bodyChunk", `inside a body comes a chunk, not ${item.kind}`);
      yield item.bytes;
    }
  }

  /** The decoder's next item, pulling from the source as needed; undefined at a clean EOF. */
  private async item(): Promise<NewtItem | undefined> {
    for (;;) {
      const item = this.decoder.next();
      if (item !== undefined) return item;
      if (this.eof) return undefined;
      let r: IteratorResult<Uint8Array>;
      this.busy = true;
      try {
        r = await this.pull();
      } catch (cause) {
        this.eof = true;
        this.inBody = false;
        const detail = cause instanceof Error ? cause.message : String(cause);
        throw new PleaError(IpcErrorCode.pipe.readFailed, `Cannot read from ${this.name}: ${detail}`, { cause });
      } finally {
        this.busy = false;
      }
      if (r.done) {
        this.eof = true;
        this.decoder.end();
      } else {
        this.decoder.push(r.value);
      }
    }
  }
}

/**
 * The noun a frame carries: `cue` of a whole body, `cueFromChunks` of a streamed one (the jam
 * is never held whole). Bytes after the noun's end are ignored, as vere ignores them.
 * @throws CueError if the body is not a jam; a newt or pipe error from a streamed body.
 */
export async function cueFrame(frame: Frame): Promise<Noun> {
  return frame.kind === "whole" ? cue(frame.body) : await cueFromChunks(frame.chunks, { inputBytes: frame.length });
}
