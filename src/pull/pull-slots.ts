/**
 * How many corps one process pulls at most (`run --max-corps N`). Leases are sticky: the process
 * that starts first would take every free corp's pull lease and keep it, and processes started
 * after it would stand by. With a limit each process takes at most N, and leaves the rest to
 * others, so N ≈ corps / processes spreads the corps. Leave headroom (N above corps / processes):
 * a process whose slots are full cannot take over the corps of one that died.
 */
export class PullSlots {
  /** corps this process pulls */
  private held = 0;
  /** slots reserved by loops asking for a lease right now */
  private asking = 0;
  private waiters: Array<() => void> = [];

  constructor(readonly max: number) {}

  /**
   * Reserves a slot before asking for a corp's lease; false when every slot is held. While other
   * loops are still asking, it waits for their answers first: a lease another process holds gives
   * its reserved slot back, and this loop may have it.
   */
  async reserve(): Promise<boolean> {
    for (;;) {
      if (this.held + this.asking < this.max) {
        this.asking += 1;
        return true;
      }
      if (this.asking === 0) return false;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** The answer for a reserved slot: the lease was taken (the slot is held) or not (it is free again). */
  settle(taken: boolean): void {
    this.asking -= 1;
    if (taken) this.held += 1;
    this.wake();
  }

  /** Gives back the slot of a corp this process no longer pulls. */
  give(): void {
    this.held = Math.max(0, this.held - 1);
    this.wake();
  }

  private wake(): void {
    for (const resolve of this.waiters.splice(0)) resolve();
  }
}
