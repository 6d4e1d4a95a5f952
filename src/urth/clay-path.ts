/**
 * The PATH argument of `cat` and `ls`: a mount-relative Unix path (`lib/foo.js`) or a Clay path
 * (`/lib/foo/js`), turned into Clay path elements. A leading `/` means Clay form.
 */
import { clayPathOf, knotOf } from "./mount-scan.ts";

export function clayPathArg(arg: string): string[] {
  if (arg.startsWith("/")) return arg.split("/").filter((p) => p.length > 0);
  return clayPathOf(arg.replace(/^\.\//, ""));
}

/**
 * A directory prefix for `ls`: path elements without splitting the last at its dot. In the
 * mount-relative form each element loses a leading `!`, as the mount's path mapping does.
 */
export function prefixArg(arg: string | undefined): string[] {
  if (arg === undefined) return [];
  const parts = arg.split("/").filter((p) => p.length > 0 && p !== ".");
  return arg.startsWith("/") ? parts : parts.map(knotOf);
}
