/**
 * urth's standard output and error are flushed before it exits. Bun's `process.exit` drops what
 * is still queued for a pipe: `urth ls | wc -l` printed 1,104 of 1,508 lines when the reader was
 * slower than urth (a file or a terminal takes each write at once, so it did not show there).
 * Ending both streams and waiting for their callbacks is what delivers every byte; the write
 * callback alone fires too early.
 */

/**
 * Resolves once everything written to stdout and stderr has been handed to the OS, or the reader
 * went away (`urth ls | head`: EPIPE is not an error here). Nothing may be written after it.
 */
export async function flushOutput(): Promise<void> {
  await Promise.all([end(process.stdout), end(process.stderr)]);
}

function end(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    stream.once("error", () => resolve());
    stream.end(() => resolve());
  });
}
