/** What a running urth answers on its control socket (src/urth/control.ts). */
import type { ControlHandler } from "./control.ts";
import { UrthErrorCode } from "./errors.ts";
import { clayPathArg } from "./clay-path.ts";
import { serveLog } from "./log-view.ts";
import { sessionCat, sessionLs } from "./pier-view.ts";
import type { Session } from "./session.ts";

export function controlHandler(getSession: () => Session | undefined, onStop: () => void): ControlHandler {
  return async (req, out) => {
    const s = getSession();
    if (!s) {
      await out.reply({ ok: false, code: UrthErrorCode.control.starting, message: "urth is still starting; try again in a moment" });
      return;
    }
    switch (req.op) {
      case "status":
        await out.reply({ ok: true, status: await s.status({ du: true }) });
        return;
      case "ls":
        await out.reply({ ok: true, files: await sessionLs(s, req.prefix === "" ? undefined : req.prefix, req.at) });
        return;
      case "cat": {
        let started = false;
        const found = await sessionCat(
          s,
          clayPathArg(req.path),
          (chunk) => out.bytes(chunk),
          async (size) => {
            started = true;
            await out.reply({ ok: true, size });
          },
          req.path,
          req.at,
        );
        if (!found && !started) await out.reply({ ok: false, code: UrthErrorCode.control.notFound, message: `No committed file at ${req.path}` });
        return;
      }
      case "log":
        // parseControlRequest (control-request.ts) checked the limit: null or a whole number.
        await serveLog(s, req.limit ?? undefined, out);
        return;
      case "stop":
        await out.reply({ ok: true });
        onStop();
        return;
      case "du":
        await out.reply({ ok: true, du: await s.du() });
        return;
      case "chop": {
        const { report, du } = await s.chop(req.keep);
        await out.reply({ ok: true, report, du });
        return;
      }
      default:
        // parseControlRequest (control-request.ts) lets only the ops above through.
        await out.reply({ ok: false, code: UrthErrorCode.control.protocol, message: `Unknown request ${JSON.stringify((req as { op?: unknown }).op)}` });
    }
  };
}
