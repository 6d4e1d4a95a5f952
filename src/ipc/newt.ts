/**
 * Newt framing, exactly as vere (pkg/vere/newt.c; docs/ipc.md):
 *
 *     byte 0      version tag, always 0x00
 *     bytes 1..4  body length, u32 little-endian, never 0
 *     body        that many bytes: the jam of one noun
 *
 * Pure byte work, no I/O: `frame-writer.ts` and `frame-reader.ts` put it on pipes, and tests
 * drive it from memory. Where vere silently truncates a body length above 2^32-1 in the header,
 * we refuse to frame it.
 */
import { assert, PleaError, type CodeOf } from "../error.ts";
import { IpcErrorCode } from "./errors.ts";

/** Byte 0 of every frame (vere newt.c:129). */
export const NEWT_VERSION = 0x00;

/** Header size: the version byte and the u32 length. */
export const NEWT_HEADER_BYTES = 5;

/** Longest body a frame can carry: the u32 length field's maximum, 2^32 - 1 bytes. */
export const NEWT_BODY_BYTES_MAX = 0xffff_ffff;

/**
 * Default for `NewtDecoderOptions.wholeBodyBytesMax`: bodies up to 64 MiB are delivered whole
 * (one buffer of exactly their length); longer ones are streamed, chunk by chunk, so a 2 GiB
 * event is never held twice and a lying length header never makes the decoder allocate more
 * than this. 64 MiB matches the chunk mars keeps for jam elsewhere (docs/decisions.md).
 */
export const NEWT_WHOLE_BODY_BYTES_MAX_DEFAULT = 64 * 1024 * 1024;

/**
 * The 5-byte header of a frame whose body is `bodyLength` bytes.
 * @throws PleaError `newt_unframeable` for 0, a non-integer, or more than NEWT_BODY_BYTES_MAX.
 */
export function encodeFrameHeader(bodyLength: number): Uint8Array {
  if (!Number.isInteger(bodyLength) || bodyLength < 1 || bodyLength > NEWT_BODY_BYTES_MAX) {
    throw new PleaError(
      IpcErrorCode.newt.unframeable,
      `Cannot frame a body of ${bodyLength} bytes: a newt frame carries 1 to ${NEWT_BODY_BYTES_MAX} bytes (send larger events through plea)`,
    );
  }
  const header = new Uint8Array(NEWT_HEADER_BYTES);
  header[0] = NEWT_VERSION;
  new DataView(header.buffer).setUint32(1, bodyLength, true);
  return header;
}

/**
 * One whole frame (header and a copy of `body`) in one buffer. For small bodies; large ones are
 * written as header then body by FrameWriter, without this copy.
 * @throws PleaError `newt_unframeable` as encodeFrameHeader.
 */
export function frame(body: Uint8Array): Uint8Array {
  const header = encodeFrameHeader(body.length);
  const out = new Uint8Array(NEWT_HEADER_BYTES + body.length);
  out.set(header, 0);
  out.set(body, NEWT_HEADER_BYTES);
  return out;
}

/**
 * What the decoder yields, in stream order:
 * - `body`: a whole body (up to `wholeBodyBytesMax`), in its own buffer of exactly its length.
 * - `bodyStart`, then `bodyChunk`s, then `bodyEnd`: a longer body, streamed. The chunks are
 *   views into the buffers given to `push` (no copy); they add up to `length` bytes.
 */
export type NewtItem =
  | { readonly kind: "body"; readonly body: Uint8Array }
  | { readonly kind: "bodyStart"; readonly length: number }
  | { readonly kind: "bodyChunk"; readonly bytes: Uint8Array }
  | { readonly kind: "bodyEnd" };

export interface NewtDecoderOptions {
  /** Longest body accepted; a header announcing more is an error. Default NEWT_BODY_BYTES_MAX. */
  bodyBytesMax?: number;
  /** Longest body delivered whole; longer ones stream. Default NEWT_WHOLE_BODY_BYTES_MAX_DEFAULT. */
  wholeBodyBytesMax?: number;
}

const enum State {
  header,
  body,
  stream,
}

const BODY_END: NewtItem = Object.freeze({ kind: "bodyEnd" });

/**
 * A streaming newt decoder: a pure byte state machine (vere's two states, newt.c:91-216, plus a
 * streaming state for long bodies).
 *
 *     const d = new NewtDecoder();
 *     d.push(chunk);                       // any split of the byte stream
 *     for (let item; (item = d.next()); ) ...
 *     d.end();                             // at EOF: a frame cut short becomes an error
 *
 * `push` never throws: it consumes the chunk at once (whole bodies are copied into their own
 * buffer; streamed chunks are kept as views until taken) and records corruption. `next` returns
 * the next item, `undefined` when it needs more bytes (not an error), and throws the recorded
 * newt error (`IpcErrorCode.newt`) once every item before the bad bytes has been taken. A bad
 * version byte, a zero length or a length above `bodyBytesMax` is refused when the header
 * arrives, before any body byte is buffered. After an error the decoder stays failed: the stream cannot be resynchronised.
 */
export class NewtDecoder {
  readonly bodyBytesMax: number;
  readonly wholeBodyBytesMax: number;

  private state = State.header;
  private readonly header = new Uint8Array(NEWT_HEADER_BYTES);
  private readonly headerView = new DataView(this.header.buffer);
  private headerFilled = 0;
  /** Length of the body being received, and how much of it has arrived. */
  private bodyLength = 0;
  private bodyFilled = 0;
  private body: Uint8Array | undefined = undefined;
  private items: NewtItem[] = [];
  private itemsHead = 0;
  private failure: PleaError | undefined = undefined;
  private ended = false;
  /** Frames completed so far, for error messages. */
  private framesDone = 0;

  constructor(options: NewtDecoderOptions = {}) {
    const bodyMax = options.bodyBytesMax ?? NEWT_BODY_BYTES_MAX;
    assert(Number.isInteger(bodyMax) && bodyMax >= 1 && bodyMax <= NEWT_BODY_BYTES_MAX, `bodyBytesMax ${bodyMax} out of range`);
    const wholeMax = Math.min(options.wholeBodyBytesMax ?? NEWT_WHOLE_BODY_BYTES_MAX_DEFAULT, bodyMax);
    assert(Number.isInteger(wholeMax) && wholeMax >= 0, `wholeBodyBytesMax ${wholeMax} out of range`);
    this.bodyBytesMax = bodyMax;
    this.wholeBodyBytesMax = wholeMax;
  }

  /** True between frames: no header or body byte of an unfinished frame has been pushed. */
  get atFrameBoundary(): boolean {
    return this.state === State.header && this.headerFilled === 0;
  }

  /** True once corruption or truncation was found (it is thrown by `next`). */
  get failed(): boolean {
    return this.failure !== undefined;
  }

  /**
   * Feeds bytes from the stream. Whole-body bytes are copied out at once; streamed body bytes are
   * kept as views until `next` hands them out, so the caller must not overwrite a chunk before
   * taking the items it produced. Ignored after a failure or `end`.
   */
  push(chunk: Uint8Array): void {
    if (this.failure !== undefined || this.ended) return;
    const n = chunk.length;
    let pos = 0;
    while (pos < n) {
      if (this.state === State.header) {
        if (this.headerFilled === 0 && chunk[pos] !== NEWT_VERSION) {
          this.fail(
            IpcErrorCode.newt.badVersion,
            `Newt frame ${this.framesDone + 1} starts with byte 0x${chunk[pos].toString(16).padStart(2, "0")}, not the version 0x00: the stream is corrupt or not newt`,
          );
          return;
        }
        const take = Math.min(NEWT_HEADER_BYTES - this.headerFilled, n - pos);
        this.header.set(chunk.subarray(pos, pos + take), this.headerFilled);
        this.headerFilled += take;
        pos += take;
        if (this.headerFilled === NEWT_HEADER_BYTES && !this.startBody()) return;
      } else if (this.state === State.body) {
        const take = Math.min(this.bodyLength - this.bodyFilled, n - pos);
        this.body!.set(chunk.subarray(pos, pos + take), this.bodyFilled);
        this.bodyFilled += take;
        pos += take;
        if (this.bodyFilled === this.bodyLength) {
          this.items.push({ kind: "body", body: this.body! });
          this.body = undefined;
          this.finishFrame();
        }
      } else {
        const take = Math.min(this.bodyLength - this.bodyFilled, n - pos);
        this.items.push({ kind: "bodyChunk", bytes: chunk.subarray(pos, pos + take) });
        this.bodyFilled += take;
        pos += take;
        if (this.bodyFilled === this.bodyLength) {
          this.items.push(BODY_END);
          this.finishFrame();
        }
      }
    }
  }

  /**
   * Marks the end of the stream. If it cut a frame short, `next` throws `newt_truncated` after
   * the items before it.
   */
  end(): void {
    if (this.ended || this.failure !== undefined) return;
    this.ended = true;
    if (this.atFrameBoundary) return;
    const where =
      this.state === State.header
        ? `after ${this.headerFilled} of its ${NEWT_HEADER_BYTES} header bytes`
        : `after ${this.bodyFilled} of its ${this.bodyLength} body bytes`;
    this.body = undefined;
    this.fail(IpcErrorCode.newt.truncated, `The stream ended inside newt frame ${this.framesDone + 1}, ${where}: the peer stopped or died mid-write`);
  }

  /**
   * The next item, or `undefined` if more bytes are needed (or the stream ended cleanly).
   * @throws PleaError (`IpcErrorCode.newt`) for corruption or truncation, once the items before it have been taken.
   */
  next(): NewtItem | undefined {
    if (this.itemsHead < this.items.length) {
      const item = this.items[this.itemsHead++];
      if (this.itemsHead === this.items.length) {
        this.items.length = 0;
        this.itemsHead = 0;
      }
      return item;
    }
    if (this.failure !== undefined) throw this.failure;
    return undefined;
  }

  /** Reads the completed header: checks it and sets up the body. False if it was refused. */
  private startBody(): boolean {
    const length = this.headerView.getUint32(1, true);
    if (length === 0) {
      this.fail(IpcErrorCode.newt.zeroLength, `Newt frame ${this.framesDone + 1} announces an empty body: length 0 is a protocol error`);
      return false;
    }
    if (length > this.bodyBytesMax) {
      this.fail(
        IpcErrorCode.newt.bodyTooLarge,
        `Newt frame ${this.framesDone + 1} announces a body of ${length} bytes, above this reader's limit of ${this.bodyBytesMax}: refused before buffering it`,
      );
      return false;
    }
    this.bodyLength = length;
    this.bodyFilled = 0;
    if (length <= this.wholeBodyBytesMax) {
      this.body = new Uint8Array(length);
      this.state = State.body;
    } else {
      this.items.push({ kind: "bodyStart", length });
      this.state = State.stream;
    }
    return true;
  }

  private finishFrame(): void {
    this.state = State.header;
    this.headerFilled = 0;
    this.bodyLength = 0;
    this.bodyFilled = 0;
    this.framesDone++;
  }

  private fail(code: CodeOf<typeof IpcErrorCode.newt>, message: string): void {
    this.failure = new PleaError(code, message);
  }
}
