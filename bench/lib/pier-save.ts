/**
 * Makes mars write a snapshot of an idle pier now, for bench/pier.ts's snapshot-size figure:
 *
 *   bun bench/lib/pier-save.ts URTH_MAIN PIER
 *
 * urth has no command that asks for a snapshot: mars writes one on `%sync %save` or, at a clean
 * exit, only when its policy finds replay costly enough (docs/event-log.md, "Snapshot policy"),
 * which a pier of a few large events never is. So this opens a reader's session with the
 * checkout that URTH_MAIN belongs to (its own `session.ts`, so the snapshot is written by the
 * code being measured), sends `%sync %save`, and closes the session (mars exits cleanly). It
 * prints one JSON line, `{"eve":N,"mug":N}`. Exit 0, or 1 with the reason on stderr.
 *
 * This reaches into urth's modules rather than its command line: if they change shape, it fails
 * with that error, and the benchmark reports the snapshot as not measured.
 */
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

interface ReaderSession {
  mars: { save(): Promise<{ eve: number; mug: number }> };
  close(): Promise<unknown>;
}

interface SessionModule {
  Session: { open(root: string, options: Record<string, unknown>): Promise<ReaderSession> };
}

const [urthMain, pier] = process.argv.slice(2);
if (urthMain === undefined || pier === undefined) {
  process.stderr.write("usage: bun bench/lib/pier-save.ts URTH_MAIN PIER\n");
  process.exit(2);
}
try {
  const module = (await import(pathToFileURL(join(dirname(resolve(urthMain)), "session.ts")).href)) as SessionModule;
  const session = await module.Session.open(resolve(pier), { control: false, onLog: () => {}, reader: true });
  try {
    const saved = await session.mars.save();
    process.stdout.write(`${JSON.stringify({ eve: saved.eve, mug: saved.mug })}\n`);
  } finally {
    await session.close();
  }
} catch (e) {
  process.stderr.write(`pier-save: ${(e as Error).message}\n`);
  process.exit(1);
}
