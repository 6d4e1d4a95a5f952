/**
 * Where an event's jam goes while it is being made: memory while it is small, a blob file once it
 * is not. The jam's length is known only at its end, so the sink keeps up to
 * LOG_INLINE_BYTES_MAX bytes (after room for the record header) and, on the first byte beyond,
 * writes what it has to `<eve>.partial` in the blob directory and streams the rest there.
 * Memory stays bounded by that limit plus the jam's chunk, whatever the event's size.
 */
import { join } from "node:path";
import { partialBlobFileName } from "./layout.ts";
import { LOG_INLINE_BYTES_MAX, RECORD_HEADER_BYTES } from "./record.ts";
import { StreamedFile } from "./streamed-file.ts";

/** First inline buffer; doubles up to the limit. Most events jam to less. */
const EVENT_SINK_BYTES_INITIAL = 4096;

export class EventSink {
  /** Set once the event spilled to a blob file. */
  file: StreamedFile | undefined;
  private buffer: Uint8Array;
  private used = 0;
  private readonly blobDir: string;
  private readonly eve: number;
  private readonly inlineMax: number;

  constructor(blobDir: string, eve: number, inlineMax = LOG_INLINE_BYTES_MAX) {
    this.blobDir = blobDir;
    this.eve = eve;
    this.inlineMax = inlineMax;
    this.buffer = new Uint8Array(RECORD_HEADER_BYTES + Math.min(EVENT_SINK_BYTES_INITIAL, inlineMax));
  }

  /** Takes the next jam chunk (copied: `jamToSink` reuses it once this returns or resolves). */
  write(chunk: Uint8Array): void | Promise<void> {
    if (this.file === undefined) {
      if (this.used + chunk.length <= this.inlineMax) {
        this.reserve(this.used + chunk.length);
        this.buffer.set(chunk, RECORD_HEADER_BYTES + this.used);
        this.used += chunk.length;
        return;
      }
      this.file = new StreamedFile(join(this.blobDir, partialBlobFileName(this.eve)), `the blob of event ${this.eve}`);
      const held = this.buffer.subarray(RECORD_HEADER_BYTES, RECORD_HEADER_BYTES + this.used);
      this.buffer = new Uint8Array(0);
      this.used = 0;
      return this.spill(held, chunk);
    }
    return this.file.write(chunk);
  }

  private async spill(held: Uint8Array, chunk: Uint8Array): Promise<void> {
    if (held.length > 0) await this.file!.write(held);
    await this.file!.write(chunk);
  }

  /** The inline record's bytes: RECORD_HEADER_BYTES of room, then the jam. */
  inlineValue(): Uint8Array {
    return this.buffer.subarray(0, RECORD_HEADER_BYTES + this.used);
  }

  /** Removes a partial blob after a failure. */
  async abort(): Promise<void> {
    await this.file?.abort();
  }

  private reserve(bytes: number): void {
    if (RECORD_HEADER_BYTES + bytes <= this.buffer.length) return;
    let size = Math.max(1, this.buffer.length - RECORD_HEADER_BYTES);
    while (size < bytes) size *= 2;
    const grown = new Uint8Array(RECORD_HEADER_BYTES + Math.min(size, this.inlineMax));
    grown.set(this.buffer.subarray(0, RECORD_HEADER_BYTES + this.used));
    this.buffer = grown;
  }
}
