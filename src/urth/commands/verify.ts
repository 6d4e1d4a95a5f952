/**
 * `urth verify`: rereads every blob of the pier's blob store (docs/blob-store.md, "Checking").
 *
 * Reading a blob for use checks its length, footer and each piece's CRC-32; only this rehashes
 * it, because the SHA-256 is the one claim no reader rechecks (docs/blob-store.md, "Trust"). It
 * reads files only, never the log, so it runs beside a `run` (blobs are never rewritten in place)
 * and on a pier whose log mars refuses.
 */
import { BlobStore } from "../../blob/index.ts";
import { ExitCode } from "../cli.ts";
import { checkPierVersion, resolvePierDir } from "../pier.ts";

export async function verifyCommand(values: Record<string, string | boolean | undefined>): Promise<number> {
  const root = resolvePierDir(values.pier as string | undefined);
  checkPierVersion(root);
  const store = new BlobStore(root);
  const t0 = performance.now();
  let bytes = 0;
  let damaged = 0;
  const names = store.list();
  const found: { name: string; byteLength?: number; problem?: string }[] = [];
  for (const name of names) {
    const check = store.verifyOne(name);
    bytes += check.byteLength ?? 0;
    if (check.problem !== undefined) {
      damaged++;
      if (!values.json) process.stderr.write(`urth: ${check.problem.message}\n`);
    }
    found.push({ name, ...(check.byteLength !== undefined ? { byteLength: check.byteLength } : {}), ...(check.problem !== undefined ? { problem: check.problem.message } : {}) });
  }
  const ms = Math.round(performance.now() - t0);
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ blobs: names.length, bytes, damaged, ms, checked: found })}\n`);
  } else {
    process.stdout.write(`${names.length} blobs, ${bytes} bytes checked in ${ms} ms: ${damaged === 0 ? "all intact" : `${damaged} damaged`}\n`);
  }
  return damaged === 0 ? ExitCode.ok : ExitCode.pier;
}
