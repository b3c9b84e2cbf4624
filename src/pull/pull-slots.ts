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
 *
 * `run --once` reserves its slot before asking (reserve, settle) instead: it never wins a lease it
 * must give back. A lease given straight back leaves another process that asked meanwhile, and heard
 * "held", believing this one pulls the corp; a running process asks again at its next poll, but a
 * once run has ended its loop for that corp, and nobody would pull it in that run. A once run takes
 * over nothing later, so asking one slot-full at a time costs it nothing that matters.
 */
export class PullSlots {
  /** corps this process pulls */
  private held = 0;
  /** slots reserved by loops asking for a lease right now (`run --once`) */
  private asking = 0;
  private waiters: Array<() => void> = [];

  constructor(readonly max: number) {}

  /**
   * `run --once`: reserves a slot before asking for a corp's lease; false when every slot is held.
   * While other loops are still asking with every other slot reserved, it waits for their answers
   * first: one that hears "held by another process" frees its slot for this loop.
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

  /** The answer for a reserved slot: the lease was won (the slot is held now) or not (the slot is free again). */
  settle(won: boolean): void {
    this.asking = Math.max(0, this.asking - 1);
    if (won) this.held += 1;
    for (const wake of this.waiters.splice(0)) wake();
  }

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
    for (const wake of this.waiters.splice(0)) wake();
  }
}
