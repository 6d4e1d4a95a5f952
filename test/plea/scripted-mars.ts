/**
 * A mars that breaks the plea protocol on purpose, for out-of-state.test.ts:
 * `bun scripted-mars.ts --pier PIER SCENARIO`. It sends `%ripe` at event 0, then answers every
 * task by SCENARIO, and exits 0 on EOF:
 *
 * - `small-grant`: answers `[%plea len]` with a grant of len-1 bytes;
 * - `foreign-grant`: answers `[%plea len]` with a grant naming a file that is not a segment;
 * - `grant-anything`: answers any task with a `%plea` grant, asked for or not;
 * - `other-kind`: answers `[%plea len]` with a memfd grant and `[%plea %memfd len]` with a named one.
 *
 * It creates no segment: urth must stop it before it would open one.
 */
import { cueFrame, FrameReader } from "../../src/ipc/frame-reader.ts";
import { FrameWriter, type ByteSink } from "../../src/ipc/frame-writer.ts";
import { giftToNoun } from "../../src/ipc/gift.ts";
import { parseTask } from "../../src/ipc/task.ts";

const scenario = process.argv[4];
const writer = new FrameWriter(Bun.stdout.writer() as unknown as ByteSink, { name: "stdout" });
await writer.send(giftToNoun({ type: "ripe", kel: 0, who: 0, fake: true, eve: 0, mug: 0 }));
const reader = new FrameReader(Bun.stdin.stream(), { name: "stdin" });
for (let frame = await reader.next(); frame !== undefined; frame = await reader.next()) {
  const task = parseTask(await cueFrame(frame));
  const asked = task.type === "plea" ? task.length : 1;
  if (scenario === "small-grant" && task.type === "plea") {
    await writer.send(giftToNoun({ type: "plea", ok: true, name: "/plea-00000000-1-1", length: asked - 1 }));
  } else if (scenario === "foreign-grant" && task.type === "plea") {
    await writer.send(giftToNoun({ type: "plea", ok: true, name: "/etc/passwd", length: asked }));
  } else if (scenario === "other-kind" && task.type === "plea") {
    // Descriptor 0 is its stdin: urth must refuse the grant before it opens anything.
    await writer.send(giftToNoun(task.kind === "memfd" ? { type: "plea", ok: true, name: "/plea-00000000-1-1", length: asked } : { type: "plea", ok: true, kind: "memfd", fd: 0, length: asked }));
  } else if (scenario === "grant-anything") {
    await writer.send(giftToNoun({ type: "plea", ok: true, name: "/plea-00000000-1-1", length: asked }));
  } else {
    process.stderr.write(`scripted-mars: no answer for %${task.type} in scenario ${scenario}\n`);
  }
}
await writer.close();
process.exit(0);
