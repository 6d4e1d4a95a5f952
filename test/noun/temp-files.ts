/** Temporary files for file-backed atom tests; `removeAll` runs in afterEach. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export class TempFiles {
  private dir: string | null = null;
  private n = 0;

  /** Writes `bytes` to a new file and returns its path. */
  write(bytes: Uint8Array): string {
    if (this.dir === null) this.dir = mkdtempSync(join(tmpdir(), "plea-noun-test-"));
    const path = join(this.dir, `f${this.n++}`);
    writeFileSync(path, bytes);
    return path;
  }

  removeAll(): void {
    if (this.dir !== null) rmSync(this.dir, { recursive: true, force: true });
    this.dir = null;
  }
}
