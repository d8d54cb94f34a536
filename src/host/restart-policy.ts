/** Decides whether a crashed worker may be restarted: at most `maxCrashes` crashes within `windowMs`. */
export class RestartPolicy {
  private crashes: number[] = [];

  constructor(
    readonly maxCrashes = 3,
    readonly windowMs = 60_000,
  ) {}

  /** Records a crash at `now`; true when another start is allowed. */
  recordCrash(now: number): boolean {
    this.crashes = this.crashes.filter((t) => now - t < this.windowMs);
    this.crashes.push(now);
    return this.crashes.length < this.maxCrashes;
  }

  get recentCrashes(): number {
    return this.crashes.length;
  }

  /** A user's explicit restart forgets earlier crashes. */
  reset(): void {
    this.crashes = [];
  }
}
