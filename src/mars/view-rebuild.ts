/**
 * Rebuilding the read view from the kernel's state (docs/read-view.md, "Rebuild"): at start, after
 * `restore` and before `%ripe`, when the view's head is not the log's last event. That is a pier
 * from before the view, or a view that fell behind (an event appended without its view changes);
 * replay appends nothing, so a replayed event's entries are already there.
 *
 * It joins the kernel and the log, so it lives beside both (as restore.ts): the log writes a plain
 * change list and never reads the kernel's state.
 */
import { cordToString, type BigAtom } from "../noun/atom.ts";
import type { ViewChanges, ViewDeskTotals, ViewFileChange } from "../view/view-change.ts";
import { mapForEach } from "./kernel/hoon-map.ts";
import type { FileStoreKernel } from "./kernel/file-store.ts";
import { desksOf, readDesk, readMime } from "./kernel/state.ts";
import type { EventLog } from "./log/event-log.ts";
import { settleAtoms } from "./settle.ts";

/** Every file and desk of a file store state, as one change list. */
export function viewOfState(state: Parameters<typeof desksOf>[0]): ViewChanges {
  const files: ViewFileChange[] = [];
  const desks: ViewDeskTotals[] = [];
  mapForEach(desksOf(state), (name, deskNoun) => {
    const desk = cordToString(name as number | BigAtom);
    const d = readDesk(deskNoun);
    desks.push({ desk, files: d.files, bytes: d.bytes });
    mapForEach(d.tree, (path, mime) => {
      const m = readMime(mime);
      files.push({ desk, path, type: m.type, len: m.len, data: m.data as number | BigAtom });
    });
  });
  return { cleared: [], files, desks };
}

/**
 * Rewrites the view when its head is not the log's last event; returns how many files it wrote,
 * or undefined when the view was current.
 */
export async function rebuildViewIfStale(log: EventLog, kernel: FileStoreKernel): Promise<number | undefined> {
  const head = log.viewHead();
  const eve = log.eve;
  if (head !== undefined && head.eve === eve && (eve === 0 || head.mug === log.mugAt(eve))) return undefined;
  const view = viewOfState(kernel.state);
  const stored = await log.rebuildView(view);
  // An older pier's large heap atoms just went to the store: they move there (settle.ts).
  if (stored.size > 0) for (const owner of settleAtoms(kernel.state, stored)) kernel.forgetOwner(owner);
  return view.files.length;
}
