/** `urth stop`: ask the urth running on the pier to finish its commit in flight and exit. */
import { ExitCode } from "../cli.ts";
import { PierLock } from "../pier-lock.ts";
import { replyError, requestHolder } from "../pier-view.ts";
import { checkPierVersion, pierPaths, resolvePierDir } from "../pier.ts";

/** How long `stop` waits for the running urth to release the pier. */
export const STOP_WAIT_MS_MAX = 10 * 60 * 1000;

export async function stopCommand(values: Record<string, string | boolean | undefined>): Promise<number> {
  const root = resolvePierDir(values.pier as string | undefined);
  checkPierVersion(root);
  const p = pierPaths(root);
  // A `run` still starting (replaying its log) answers once its socket listens.
  const reply = await requestHolder(p, { op: "stop" });
  if (!reply) {
    process.stderr.write(`urth: no urth is running on ${root}\n`);
    return ExitCode.notRunning;
  }
  if (!reply.ok) throw replyError(reply);
  // Wait until it has let go of the pier: its commit in flight is finished and mars has exited.
  const deadline = Date.now() + STOP_WAIT_MS_MAX;
  while (Date.now() < deadline) {
    const lock = PierLock.tryAcquire(p.lockFile);
    if (lock) {
      lock.release();
      process.stderr.write("urth: stopped\n");
      return ExitCode.ok;
    }
    await Bun.sleep(50);
  }
  process.stderr.write("urth: asked the running urth to stop, but it still holds the pier\n");
  return ExitCode.failed;
}
