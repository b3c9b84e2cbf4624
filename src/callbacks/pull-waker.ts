/**
 * Turns msgaudit_notify into "pull now" for the corp's archiver (`pullBell`), debounced: the first
 * notify rings at once; notifies within `debounceMs` after it collapse into one more ring at the end
 * of that window, so a burst of notifies costs at most two pulls and none is lost.
 */
export interface Wakeable {
  readonly pullBell: { ring(): void };
}

export class PullWaker {
  private archivers: ReadonlyMap<string, Wakeable> = new Map();
  private readonly lastRing = new Map<string, number>();
  private readonly trailing = new Map<string, NodeJS.Timeout>();
  /** rings per corp (status and tests) */
  readonly rings = new Map<string, number>();

  constructor(
    private readonly debounceMs = 1_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** The archivers of this process (runArchive's onStarted). */
  attach(archivers: ReadonlyMap<string, Wakeable>): void {
    this.archivers = archivers;
  }

  /** Wakes the corp's pull; false when this process has no archiver for it. */
  wake(corpid: string): boolean {
    const archiver = this.archivers.get(corpid);
    if (!archiver) return false;
    const now = this.now();
    const last = this.lastRing.get(corpid);
    if (last === undefined || now - last >= this.debounceMs) {
      this.ring(corpid, archiver);
    } else if (!this.trailing.has(corpid)) {
      const timer = setTimeout(
        () => {
          this.trailing.delete(corpid);
          this.ring(corpid, archiver);
        },
        this.debounceMs - (now - last),
      );
      timer.unref();
      this.trailing.set(corpid, timer);
    }
    return true;
  }

  close(): void {
    for (const t of this.trailing.values()) clearTimeout(t);
    this.trailing.clear();
  }

  private ring(corpid: string, archiver: Wakeable): void {
    this.lastRing.set(corpid, this.now());
    this.rings.set(corpid, (this.rings.get(corpid) ?? 0) + 1);
    archiver.pullBell.ring();
  }
}
