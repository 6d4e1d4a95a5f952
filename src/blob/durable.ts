/**
 * The few file-system steps that make a blob durable, each with a typed error that tells the
 * operator what to do. The event log has the same steps for its own files (src/mars/log/); the
 * blob store keeps its own because urth imports the store and must not import mars.
 */
import { closeSync, fsyncSync, openSync, write } from "node:fs";
import { PleaError } from "../error.ts";
import { BlobErrorCode } from "./errors.ts";
import type { BlobPaths } from "./layout.ts";
import { makePrivateDir } from "../pier/private-mode.ts";

/** Writes all of `bytes` at `position` on the runtime's I/O threads. */
export function writeAllAsync(fd: number, bytes: Uint8Array, position: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (done: number) => {
      if (done === bytes.length) return resolve();
      write(fd, bytes, done, bytes.length - done, position + done, (err, n) => (err ? reject(err) : step(done + n)));
    };
    step(0);
  });
}

/** fsyncs a directory, so that names created or removed in it survive a crash. */
export function fsyncDirectory(dir: string): void {
  fsyncDirectoryOr(dir, blobWriteError);
}

/**
 * fsyncs a directory; a failure is thrown as `errorOf(message, cause)`, so that each store (the
 * blob store, the event log) reports it with its own code.
 */
export function fsyncDirectoryOr(dir: string, errorOf: (message: string, cause: unknown) => Error): void {
  let fd: number;
  try {
    fd = openSync(dir, "r");
  } catch (cause) {
    throw errorOf(`Cannot open directory "${dir}" to sync it`, cause);
  }
  try {
    fsyncSync(fd);
  } catch (cause) {
    throw errorOf(`Cannot sync directory "${dir}"`, cause);
  } finally {
    closeSync(fd);
  }
}

/** A `blob_write` error for a failed system call, with advice that fits its errno. */
export function blobWriteError(subject: string, cause: unknown): PleaError {
  if (cause instanceof PleaError) return cause;
  const code = (cause as { code?: string } | null)?.code;
  const hint =
    code === "ENOSPC" || code === "EDQUOT"
      ? "The disk under the pier is full: free space, then start again"
      : code === "EACCES" || code === "EPERM"
        ? "Check the pier's permissions: mars must own it"
        : "Check `dmesg` and the disk under the pier, then start again";
  return new PleaError(BlobErrorCode.write, `${subject}: ${(cause as Error)?.message ?? String(cause)}. ${hint}`, { cause });
}

/** Creates `bob/` and `bob/stg/`, 0700 whatever the umask: mars before it writes, urth before it stages. */
export function makeStoreDirs(paths: BlobPaths): void {
  try {
    makePrivateDir(paths.dir);
    makePrivateDir(paths.staging);
  } catch (cause) {
    throw blobWriteError(`Cannot create the blob store "${paths.dir}" and its staging folder`, cause);
  }
}
