/**
 * Plans a commit: which mount files to send and which Clay paths to delete, from a scan of the
 * mount and what is known to be committed. Reads no file contents.
 */
import { clayKey, type MountFile, type MountScan } from "./mount-scan.ts";
import { unchanged, type MountCache } from "./mount-cache.ts";

export interface CommitPlan {
  /** Files to send, new or changed, sorted by mount-relative path. */
  puts: MountFile[];
  /** Clay paths to delete (committed, no longer in the mount). */
  dels: string[][];
  /** Bytes the puts carry (their sizes). */
  bytes: number;
  added: number;
  changed: number;
}

/**
 * `committed` maps each Clay path mars holds (its key, `clayKey`) to its path elements; `cache`
 * says what urth last sent for it.
 */
export function planCommit(scan: MountScan, committed: ReadonlyMap<string, readonly string[]>, cache: MountCache): CommitPlan {
  const puts: MountFile[] = [];
  let added = 0;
  let changed = 0;
  let bytes = 0;
  const present = new Set<string>();
  for (const f of scan.files) {
    const key = f.key;
    present.add(key);
    if (!committed.has(key)) {
      added++;
    } else if (unchanged(f, cache.get(key))) {
      continue;
    } else {
      changed++;
    }
    puts.push(f);
    bytes += f.size;
  }
  const dels: string[][] = [];
  for (const [key, path] of committed) if (!present.has(key)) dels.push([...path]);
  dels.sort((a, b) => (clayKey(a) < clayKey(b) ? -1 : 1));
  return { puts, dels, bytes, added, changed };
}
