/**
 * What read-only commands (`cat`, `ls`, `status`) read from: the running urth over its control
 * socket when a `run` or `commit` holds the pier, or else a session of their own (they take the
 * lock for a moment, start mars, peek, and let it go).
 */
import { isPleaError, PleaError } from "../error.ts";
import { isAtom, isFileAtom, toBytes, type Noun } from "../noun/index.ts";
import { controlRequest, type ControlReply, type ControlRequest } from "./control.ts";
import { clayPathArg, prefixArg } from "./clay-path.ts";
import { UrthErrorCode } from "./errors.ts";
import { clayKey, relOfClayPath } from "./mount-scan.ts";
import { MOUNT_DESK } from "./pier.ts";
import { MarsExited } from "./mars-exited.ts";
import { isMarsRefusal } from "./exit-code.ts";
import { listFiles, readFileRange } from "./peeks.ts";
import { PierLock } from "./pier-lock.ts";
import { checkPierVersion, pierPaths, type PierPaths } from "./pier.ts";
import { Session } from "./session.ts";

/** Bytes `cat` asks mars for, and hands to the output, at a time: one `/r` peek each. */
export const CAT_CHUNK_BYTES = 4 * 1024 * 1024;

export interface LsEntry {
  path: string;
  clay: string;
  size: number;
}

/**
 * Lists the committed files under `arg` (a directory of the mount, or `/clay/path`; every file when
 * undefined), or the one file `arg` names, with mount-relative paths (from the cache where known).
 * With `at`, as they were after that event (`ls --at`).
 */
export async function sessionLs(s: Session, arg: string | undefined, at?: number): Promise<LsEntry[]> {
  let files = await listFiles(s.mars, prefixArg(arg), MOUNT_DESK, at);
  // Not a directory: perhaps a file (`ls lib/a.txt` names /lib/a/txt, which no prefix reaches).
  if (files.length === 0 && arg !== undefined) {
    const path = clayPathArg(arg);
    files = (await listFiles(s.mars, path, MOUNT_DESK, at)).filter((f) => clayKey(f.path) === clayKey(path));
  }
  return files.map((f) => {
    const key = clayKey(f.path);
    return { path: s.committed.cache.get(key)?.rel ?? relOfClayPath(f.path), clay: key, size: f.size };
  });
}

/**
 * Streams a committed file's bytes to `out`: the atom's bytes, then the zero bytes the atom cannot
 * hold (a file may end in zeros; its `len` says how many). Returns false if there is no such file.
 * `name` is how errors name the file (the operator's PATH argument). With `at`, the file as it was
 * after that event (`cat --at`): that state never changes, so pieces cannot disagree.
 */
export async function sessionCat(
  s: Session,
  path: readonly string[],
  out: (chunk: Uint8Array) => Promise<void> | void,
  onSize?: (size: number) => Promise<void> | void,
  name = clayKey(path),
  at?: number,
): Promise<boolean> {
  // Piece by piece (`/r` peeks): neither mars's reply nor urth's heap ever holds a whole large file.
  let total = 0;
  let version = 0;
  for (let off = 0; off === 0 || off < total; off += CAT_CHUNK_BYTES) {
    const piece = await readFileRange(s.mars, path, off, CAT_CHUNK_BYTES, MOUNT_DESK, at);
    if (!piece) {
      if (off === 0) return false;
      throw new PleaError(UrthErrorCode.peek.changed, `${name} was deleted while it was being read (a commit landed); run cat again`);
    }
    if (off === 0) {
      total = piece.len;
      version = piece.mug;
      await onSize?.(total);
      if (total === 0) break;
    } else if (piece.len !== total || piece.mug !== version) {
      throw new PleaError(UrthErrorCode.peek.changed, `${name} changed while it was being read (a commit landed); run cat again`);
    }
    const want = Math.min(CAT_CHUNK_BYTES, total - off);
    const bytes = atomBytes(piece.data);
    await out(bytes.length >= want ? bytes.subarray(0, want) : padded(bytes, want));
  }
  return true;
}

/** `bytes` followed by zeros up to `length`: an atom drops a file's trailing zero bytes. */
function padded(bytes: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  out.set(bytes);
  return out;
}

function atomBytes(data: Noun): Uint8Array {
  if (!isAtom(data) || isFileAtom(data)) throw new PleaError(UrthErrorCode.peek.shape, "A file's data is not an atom");
  return toBytes(data);
}

/**
 * How long a reader waits for the urth holding the pier to answer on its socket. It may still be
 * starting (mars replays its log before the socket listens), or be another reader's short-lived
 * session, which serves no socket: either way the pier answers or frees up soon.
 */
export const HOLDER_WAIT_MS_MAX = 2 * 60 * 1000;

/** How often a waiting reader looks again at the lock and the socket. */
const HOLDER_POLL_MS = 50;

/**
 * Sends `req` to the urth holding the pier, waiting while it is not answering yet. Resolves with
 * its reply, or with undefined once no urth holds the pier (it exited, or was only a reader).
 * Retrying is safe: a request that got no reply delivered no bytes.
 */
export async function requestHolder(p: PierPaths, req: ControlRequest, onBytes?: (chunk: Uint8Array) => Promise<void> | void): Promise<ControlReply | undefined> {
  const deadline = Date.now() + HOLDER_WAIT_MS_MAX;
  for (;;) {
    const probe = PierLock.tryAcquire(p.lockFile);
    if (probe) {
      probe.release();
      return undefined;
    }
    let reply: ControlReply | undefined;
    try {
      reply = await controlRequest(p.socket, req, onBytes);
    } catch (e) {
      if (!isPleaError(e, UrthErrorCode.control.unreachable)) throw e;
      if (Date.now() > deadline) {
        const pid = PierLock.holder(p.lockFile);
        throw new PleaError(UrthErrorCode.control.unreachable, `The urth holding the pier "${p.root}"${pid ? ` (pid ${pid})` : ""} has not answered for ${HOLDER_WAIT_MS_MAX / 1000} s. ${e.message}`, { cause: e });
      }
    }
    if (reply && !(reply.code === UrthErrorCode.control.starting && Date.now() < deadline)) return reply;
    await Bun.sleep(HOLDER_POLL_MS);
  }
}

/** What the running urth answered when it failed a request, as a typed error: its code and message. */
export function replyError(reply: ControlReply): PleaError {
  return new PleaError(reply.code ?? UrthErrorCode.control.protocol, reply.message ?? "The running urth failed the request without saying why");
}

/**
 * A reader's mars that died was not heard (its lines were not forwarded): show its last words
 * once, as a writer's would have been shown, before urth's own message. Not when mars refused the
 * pier (7) or found its log locked (3): its one line is then urth's message (exit-code.ts).
 */
function showMarsSaid(e: unknown): unknown {
  if (e instanceof MarsExited && !isMarsRefusal(e)) for (const line of e.stderrTail) process.stderr.write(`mars: ${line}\n`);
  return e;
}

/**
 * Runs `direct` with a session of its own when no urth holds the pier, else sends `req` to the
 * running one (`viaSocket` handles its reply). Two readers of an idle pier take turns.
 */
export async function withPier<T>(root: string, direct: (s: Session) => Promise<T>, req: ControlRequest, viaSocket: (reply: ControlReply) => Promise<T> | T, onBytes?: (chunk: Uint8Array) => Promise<void> | void): Promise<T> {
  checkPierVersion(root);
  const p = pierPaths(root);
  for (;;) {
    const reply = await requestHolder(p, req, onBytes);
    if (reply) return viaSocket(reply);
    let s: Session;
    try {
      // A reader's mars keeps quiet (its replay note on every `ls` would be noise) unless it fails.
      s = await Session.open(root, { control: false, onLog: () => {}, reader: true });
    } catch (e) {
      // Lost a race with another urth taking the pier: talk to it, or wait for it.
      if (isPleaError(e, UrthErrorCode.lock.held)) continue;
      throw showMarsSaid(e);
    }
    try {
      return await direct(s);
    } catch (e) {
      throw showMarsSaid(e);
    } finally {
      await s.close();
    }
  }
}
