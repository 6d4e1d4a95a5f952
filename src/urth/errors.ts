/**
 * urth's error codes, grouped by what a caller catches together. Three errors keep a class of
 * their own because they carry data: `UsageError` (cli.ts: the usage line to print),
 * `PierLocked` (pier-lock.ts: the holder's pid) and `MarsExited` (mars-exited.ts: mars's status,
 * signal and last lines). Every other urth error is a plain `PleaError` with a code below;
 * exit-code.ts turns each into urth's exit status (docs/urth.md, "Exit statuses").
 */
import type { CodeOf } from "../error.ts";

export const UrthErrorCode = {
  /** An unknown command or option, a missing, empty or malformed value (`UsageError`, exit 2). */
  usage: "usage",
  /** The pier itself cannot be used (exit 7). */
  pier: {
    /** `.urb/pier.json` is not a pier's: restore it or move the pier aside. */
    notAPier: "pier_not_a_pier",
    /** The pier is of another format version: run the Plea release that made it. */
    version: "pier_version",
    /** There is no pier at the path: `commit` or `run` creates one. */
    missing: "pier_missing",
  },
  /** The pier's lock (`PierLocked`, exit 3). */
  lock: {
    /** Another urth holds the pier: stop it, or read alongside it. */
    held: "pier_locked",
  },
  /** mars, seen from urth (`MarsExited`: its status and last lines say why). */
  mars: {
    /** mars exited or was killed after it was ready. */
    exited: "mars_exited",
    /** mars sent something that is not a message of the protocol; urth killed it. */
    protocol: "mars_protocol",
    /** mars exited or was killed before it was ready. */
    start: "mars_start",
  },
  /**
   * The control socket (docs/urth.md, "A second shell"). A reply's `code` is one of these, or the
   * code of the running urth's own error, sent as it is.
   */
  control: {
    /** No urth answers on the socket, or it closed before its reply: no byte was delivered, retry. */
    unreachable: "control_unreachable",
    /** A request or a reply that breaks the protocol (too long, not UTF-8, not JSON, wrong types). */
    protocol: "control_protocol",
    /** The urth went away in the middle of a `cat`: some bytes were delivered, so never retry. */
    interrupted: "control_interrupted",
    /** The running urth has no session yet (mars is replaying its log): ask again in a moment. */
    starting: "starting",
    /** `cat`: the running urth has no committed file at the path (exit 5). */
    notFound: "not_found",
    /** The running urth failed the request with an error that has no code of its own. */
    failed: "control_failed",
  },
  /** mars refused a commit's event (its goof says why); nothing was committed. */
  commit: {
    /** mars answered the commit's `%poke` with a goof. */
    rejected: "commit_rejected",
  },
  /** urth's peeks into mars's file store. */
  peek: {
    /** mars answered a peek with a goof. */
    failed: "peek_failed",
    /** mars's answer to a peek has the wrong mark or shape. */
    shape: "peek_shape",
    /** A file changed or vanished between two pieces of one `cat`. */
    changed: "peek_changed",
    /** `--at EVE`: mars no longer holds event EVE (or not yet); the message names the events it holds. */
    notRetained: "peek_not_retained",
  },
  /** Retention: `urth chop` and `urth du` (docs/urth.md, "Disk use and retention"). */
  retention: {
    /** mars refused or failed a chop (its goof says why); what it had not begun is still there. */
    chopFailed: "chop_failed",
    /** mars's du or chop report is not the JSON object urth expects. */
    report: "retention_report",
  },
  /** Scanning the Unix mount (`<pier>/base/`). */
  mount: {
    /** A directory or file in the mount cannot be read or stat'ed. */
    unreadable: "mount_unreadable",
    /** A file in the mount is larger than one atom holds (4 GiB). */
    tooLarge: "mount_file_too_large",
    /** Two files in the mount map to the same Clay path. */
    pathClash: "mount_path_clash",
  },
  /** The kind of shared memory the plea path takes (shm-kind.ts). */
  shmKind: {
    /** `--shm-kind` or PLEA_SHM_KIND names no kind of segment (memfd, named, auto). */
    invalid: "shm_kind_invalid",
  },
  /** The commands' own output. */
  output: {
    /** `cat` wrote fewer bytes than the file's size: the output is incomplete. */
    catShort: "cat_short",
    /** The reader of standard output went away (`urth cat BIG | head`): the command stops, exit 0. */
    closed: "output_closed",
  },
} as const;

export type UrthErrorCode = CodeOf<typeof UrthErrorCode>;
