/** `urth commit`: commit what changed in the mount once, wait until durable, print, exit. */
import { parseBytes, parseShmKindOption } from "../cli.ts";
import type { CommitSummary } from "../commit.ts";
import { controlHandler } from "../control-handler.ts";
import { commitLine, skippedLines } from "../format.ts";
import { eventInfos } from "../peeks.ts";
import { resolvePierDir } from "../pier.ts";
import { commitProgress } from "../progress.ts";
import { Session } from "../session.ts";
import { sweptLines } from "./common.ts";

export async function commitCommand(values: Record<string, string | boolean | undefined>): Promise<number> {
  const root = resolvePierDir(values.pier as string | undefined);
  const threshold = values["plea-threshold"] === undefined ? undefined : parseBytes("plea-threshold", values["plea-threshold"] as string);
  const stageBytesMin = values["stage-threshold"] === undefined ? undefined : parseBytes("stage-threshold", values["stage-threshold"] as string);
  const shmKind = parseShmKindOption(values["shm-kind"]);
  let session: Session | undefined;
  const s = await Session.open(root, { pleaThresholdBytes: threshold, stageBytesMin, shmKind, control: controlHandler(() => session, () => {}) });
  session = s;
  for (const line of sweptLines(s.sweptAtStart)) process.stderr.write(`${line}\n`);
  const progress = commitProgress();
  try {
    const summary = await s.commit({ onProgress: progress.onProgress });
    progress.done();
    if (values.json) {
      process.stdout.write(JSON.stringify(await commitJson(summary, s)) + "\n");
    } else {
      for (const line of skippedLines(summary)) process.stderr.write(`${line}\n`);
      process.stdout.write(`${commitLine(summary)}\n`);
    }
  } finally {
    progress.done();
    await s.close();
  }
  return 0;
}

/** The `--json` summary, with the phases urth and mars measured (mars's from the event's INFO). */
async function commitJson(s: CommitSummary, session: Session): Promise<Record<string, unknown>> {
  const m = s.marks;
  const phases: Record<string, number> = {};
  // Files sent as references to blobs already in the store: urth's hashing, and what mars took as references.
  const blobs: Record<string, number> = { ...s.blobs };
  if (m.scannedAtMs !== undefined) phases.scanMs = m.scannedAtMs - m.startAtMs;
  if (m.builtAtMs !== undefined && m.scannedAtMs !== undefined) phases.buildMs = m.builtAtMs - m.scannedAtMs;
  if (m.sendStartAtMs !== undefined && m.sentAtMs !== undefined) phases[s.path === "plea" ? "fillMs" : "sendMs"] = m.sentAtMs - m.sendStartAtMs;
  // Staging is part of the build: the copy (the workers hashing behind it), the wait for the
  // hashes after the last piece, then the footer and fdatasync (docs/blob-store.md, "Staged by urth").
  if (s.staged !== undefined && s.staged.files > 0) {
    phases.stageCopyMs = s.staged.copyMs;
    phases.stageHashWaitMs = s.staged.hashWaitMs;
    phases.stageSyncMs = s.staged.finishMs;
  }
  if (s.eve !== undefined) {
    const [info] = await eventInfos(session.mars, s.eve, s.eve);
    const d = info?.detail ?? {};
    const num = (k: string) => (typeof d[k] === "number" ? (d[k] as number) : undefined);
    const decodedAt = num("decodedAtMs");
    const arrivedAt = num("arrivedAtMs");
    const persistStartAt = num("persistStartAtMs");
    if (num("decodeMs") !== undefined) phases.decodeMs = num("decodeMs")!;
    if (s.path === "pipe" && arrivedAt !== undefined && m.sendStartAtMs !== undefined) phases.transferMs = arrivedAt - m.sendStartAtMs;
    if (decodedAt !== undefined) phases.deliveryMs = decodedAt - m.startAtMs;
    if (num("applyMs") !== undefined) phases.applyMs = num("applyMs")!;
    if (persistStartAt !== undefined && m.repliedAtMs !== undefined) phases.persistMs = m.repliedAtMs - persistStartAt;
    blobs.marsRefs = num("refs") ?? 0;
    blobs.marsRefBytes = num("refBytes") ?? 0;
    if (info !== undefined) blobs.jamBytes = info.jamBytes;
  }
  return {
    eve: s.eve ?? null,
    path: s.path,
    added: s.added,
    changed: s.changed,
    deleted: s.deleted,
    bytes: s.bytes,
    sentBytes: s.sentBytes ?? null,
    ms: s.ms,
    pids: { urth: process.pid, mars: session.mars.pid },
    // The kind of segment a plea of this session asks for (docs/shm-segments.md, "Choosing the kind").
    shmKind: session.mars.shm.kind,
    phases,
    blobs,
    // Files urth staged into the blob store by an in-kernel copy (docs/blob-store.md, "Staged by urth").
    staged: s.staged ?? null,
    skipped: s.skipped,
  };
}
