/**
 * Which kind of segment urth asks mars for: a memfd where urth can open mars's memfds, else a
 * named POSIX segment (docs/shm-segments.md, "Choosing the kind").
 *
 * `auto` (the default) decides by a probe at start, before mars has read anything: urth creates an
 * empty memfd sealed as a segment is, hands it to mars as its descriptor 3 when it spawns it,
 * closes its own copy, and opens `/proc/<mars pid>/fd/3` with the checks a fill makes (mars is
 * still the process urth spawned; the memfd carries F_SEAL_SHRINK and no write seal). So the probe
 * answers exactly "can urth open a memfd mars holds?" with the real mars process, its user, its
 * /proc and its security policy; memfd_create and sealing are tried in urth, whose seccomp filter
 * and namespaces mars inherits. It costs tens of microseconds and an empty memfd mars keeps
 * open until it exits. `memfd` and `named` (`--shm-kind`, or PLEA_SHM_KIND for tests and the
 * benchmark) force a kind without probing.
 */
import { createMemfd, type Memfd, probePeerMemfd } from "../ffi/index.ts";
import { PleaError } from "../error.ts";
import { UrthErrorCode } from "./errors.ts";
import type { SegmentKind } from "../plea/segment-ref.ts";

/** What the operator chose: a kind, or `auto` (the probe decides). */
export type ShmKindChoice = "auto" | SegmentKind;

export const SHM_KIND_CHOICES: readonly ShmKindChoice[] = ["auto", "memfd", "named"];

/**
 * Environment variable that forces the choice when `--shm-kind` is not given (tests and the
 * benchmark set it so that a child urth follows): `auto`, `memfd` or `named`.
 */
export const SHM_KIND_ENV = "PLEA_SHM_KIND";

/** The descriptor mars holds the probe memfd as (the first after stdin, stdout and stderr). */
export const SHM_PROBE_FD = 3;

/** The probe memfd's label (it shows in /proc/<mars pid>/fd; it is never a plea segment). */
const PROBE_LABEL = "plea-shm-probe";

/** The choice `text` names, or a `shm_kind_invalid` error naming `source` (`--shm-kind`, or the variable). */
export function parseShmKindChoice(text: string, source: string): ShmKindChoice {
  const choice = text.trim().toLowerCase();
  if ((SHM_KIND_CHOICES as readonly string[]).includes(choice)) return choice as ShmKindChoice;
  throw new PleaError(UrthErrorCode.shmKind.invalid, `${source} takes ${SHM_KIND_CHOICES.join(", ")}; got "${text}"`);
}

/** The choice from the environment (PLEA_SHM_KIND), else `auto`. */
export function shmKindChoiceFromEnv(env: Record<string, string | undefined> = process.env): ShmKindChoice {
  const text = env[SHM_KIND_ENV];
  return text === undefined || text === "" ? "auto" : parseShmKindChoice(text, SHM_KIND_ENV);
}

/** The kind urth asks for, how it was chosen, and why (shown by `urth status`). */
export interface ShmKindDecision {
  kind: SegmentKind;
  choice: ShmKindChoice;
  reason: string;
}

/** The probe's memfd between its creation (before mars is spawned) and its check (after). */
export class ShmProbe {
  private constructor(
    private memfd: Memfd | undefined,
    private readonly failure: string | undefined,
  ) {}

  /**
   * For `auto`: an empty memfd sealed as a segment is, to hand mars as its descriptor 3. A probe
   * whose memfd cannot be made (no memfd_create, no sealing) already has its answer.
   */
  static prepare(): ShmProbe {
    try {
      return new ShmProbe(createMemfd(PROBE_LABEL, 0), undefined);
    } catch (e) {
      return new ShmProbe(undefined, `urth cannot make a sealed memfd: ${(e as Error).message}`);
    }
  }

  /** The descriptor to hand mars, if the memfd was made. */
  get fd(): number | undefined {
    return this.memfd?.fd;
  }

  /**
   * After mars is spawned: closes urth's own descriptor (mars holds its copy) and opens mars's
   * through /proc, checking it as a fill would. The decision says which kind to ask for and why.
   */
  decide(marsPid: number, marsStartTime: number | undefined): ShmKindDecision {
    const memfd = this.memfd;
    this.memfd = undefined;
    if (memfd === undefined) return named(this.failure ?? "the probe ran twice");
    try {
      memfd.close();
      probePeerMemfd(marsPid, SHM_PROBE_FD, marsStartTime);
    } catch (e) {
      return named(`urth cannot open a memfd of mars's: ${(e as Error).message}`);
    }
    return { kind: "memfd", choice: "auto", reason: `urth opened a sealed memfd of mars's through /proc/${marsPid}/fd/${SHM_PROBE_FD}` };
  }

  /** Releases urth's descriptor when mars could not be spawned. Idempotent. */
  dispose(): void {
    this.memfd?.close();
    this.memfd = undefined;
  }
}

function named(why: string): ShmKindDecision {
  return { kind: "named", choice: "auto", reason: `${why}; named segments in /dev/shm instead` };
}

/** The decision for a forced kind (no probe). */
export function forcedShmKind(kind: SegmentKind, source: string): ShmKindDecision {
  return { kind, choice: kind, reason: `forced by ${source}` };
}
