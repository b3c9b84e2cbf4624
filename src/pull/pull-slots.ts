/**
 * How many corps one process pulls at most (`run --max-corps N`). Leases are sticky: the process
 * that starts first would take every free corp's pull lease and keep it, and processes started
 * after it would stand by. With a limit each process takes at most N, and leaves the rest to
 * others, so N ≈ corps / processes spreads the corps. Leave headroom (N above corps / processes):
 * a process whose slots are full cannot take over the corps of one that died.
 *
 * A slot is taken after the lease, not reserved before asking for it: every corp's loop asks at
 * once, as without a limit, and one that won a lease with no slot left gives the lease straight
 * back. (Reserving first made a process with free slots ask for the leases of live holders one
 * slot-full at a time, and so take over a dead process's corps waves late.)
 */
export class PullSlots {
  /** corps this process pulls */
  private held = 0;

  constructor(readonly max: number) {}

  /** Whether a slot is free now: a loop that does not pull its corp need not ask for the lease otherwise. */
  get free(): boolean {
    return this.held < this.max;
  }

  /** Takes a slot for a corp whose lease this process just won; false when every slot is held. */
  take(): boolean {
    if (this.held >= this.max) return false;
    this.held += 1;
    return true;
  }

  /** Gives back the slot of a corp this process no longer pulls. */
  give(): void {
    this.held = Math.max(0, this.held - 1);
  }
}
