/**
 * The mars child process, and nothing about writs: spawns it, sends frames to its stdin, reads
 * gifts from its stdout, drains its stderr, and reports its exit.
 *
 * Pipes (docs/ipc.md): stdin gets newt frames through a FrameWriter (chunked, every flush
 * awaited, every rejection caught); stdout is read by a FrameReader; stderr is always drained
 * (an unread pipe fills at 64 KiB and deadlocks the child), each line forwarded and the last
 * STDERR_TAIL_LINES kept for the message that reports mars's death.
 */
import { cueFrame, FrameReader } from "../ipc/frame-reader.ts";
import { FrameWriter, type ByteSink } from "../ipc/frame-writer.ts";
import { parseGift, type Gift } from "../ipc/gift.ts";

/** Where mars's entry point is, next to this file's folder. */
export const MARS_MAIN_PATH = new URL("../mars/main.ts", import.meta.url).pathname;

/** Lines of mars's stderr kept for the MarsExited message. */
export const STDERR_TAIL_LINES = 20;

export interface MarsChildOptions {
  pier: string;
  /** The entry point to run (default MARS_MAIN_PATH; tests run a scripted peer). */
  main?: string;
  /** Extra arguments, after `--pier PIER`. */
  args?: readonly string[];
  /** Extra environment. */
  env?: Record<string, string | undefined>;
  /** A descriptor of urth's that mars gets as its descriptor 3 (the memfd probe, src/urth/shm-kind.ts). */
  fd3?: number;
  /** Each line mars writes to stderr. */
  onLog: (line: string) => void;
  /** Each gift mars sends, in order. */
  onGift: (gift: Gift) => void;
  /** mars sent bytes that are not a gift; nothing more is read from it. */
  onUnreadable: (message: string, cause: unknown) => void;
}

export class MarsChild {
  readonly pid: number;
  /** Frames to mars's stdin. */
  readonly writer: FrameWriter;
  /** Resolves with mars's exit status once it has exited and its stdout was read (never rejects). */
  readonly exited: Promise<number>;

  private readonly proc: ReturnType<typeof Bun.spawn>;
  private readonly tail: string[] = [];
  private readonly options: MarsChildOptions;

  constructor(options: MarsChildOptions) {
    this.options = options;
    const argv = [process.execPath, options.main ?? MARS_MAIN_PATH, "--pier", options.pier, ...(options.args ?? [])];
    const env = { ...process.env, ...options.env };
    this.proc =
      options.fd3 === undefined
        ? Bun.spawn(argv, { stdin: "pipe", stdout: "pipe", stderr: "pipe", env })
        : Bun.spawn(argv, { stdio: ["pipe", "pipe", "pipe", options.fd3], env });
    this.pid = this.proc.pid;
    this.writer = new FrameWriter(this.proc.stdin as unknown as ByteSink, { name: "mars's stdin" });
    // Drained before the exit is reported: mars's last line (why it refused to start) is in the tail.
    const draining = this.drainStderr(this.proc.stderr as ReadableStream<Uint8Array>);
    const reading = this.readGifts(new FrameReader(this.proc.stdout as ReadableStream<Uint8Array>, { name: "mars's stdout" }));
    this.exited = Promise.all([this.proc.exited, reading.catch(() => {}), draining]).then(([code]) => code);
  }

  /** The signal that ended mars (once it has exited), or null. */
  get signal(): string | null {
    return this.proc.signalCode == null ? null : String(this.proc.signalCode);
  }

  /** The last lines mars wrote to stderr. */
  get stderrTail(): string[] {
    return [...this.tail];
  }

  /** Signals mars (SIGKILL by default); a mars already gone is not an error. */
  kill(signal: NodeJS.Signals | number = "SIGKILL"): void {
    try {
      this.proc.kill(signal);
    } catch {
      // already gone
    }
  }

  private async readGifts(reader: FrameReader): Promise<void> {
    try {
      for await (const frame of reader) this.options.onGift(parseGift(await cueFrame(frame)));
    } catch (e) {
      this.options.onUnreadable(`mars sent something urth cannot read: ${(e as Error).message}`, e);
    }
  }

  private async drainStderr(stream: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let partial = "";
    try {
      for await (const chunk of stream) {
        partial += decoder.decode(chunk, { stream: true });
        let nl: number;
        while ((nl = partial.indexOf("\n")) >= 0) {
          this.line(partial.slice(0, nl));
          partial = partial.slice(nl + 1);
        }
      }
    } catch {
      // the child is gone; what it said is in the tail
    }
    if (partial) this.line(partial);
  }

  private line(text: string): void {
    this.tail.push(text);
    if (this.tail.length > STDERR_TAIL_LINES) this.tail.shift();
    this.options.onLog(text);
  }
}
