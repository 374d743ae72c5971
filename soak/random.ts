/**
 * A seeded generator (mulberry32): the soak's choices — traffic kinds, orders, the fault schedule —
 * follow from its seed, so a run can be repeated. Each traffic worker and the schedule get their own
 * stream (`fork`), so one stream's draws do not shift another's.
 */
export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from nothing');
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** One of `items`, each as likely as its weight. */
  weighted<T extends { weight: number }>(items: readonly T[]): T {
    const total = items.reduce((s, i) => s + i.weight, 0);
    let r = this.next() * total;
    for (const item of items) if ((r -= item.weight) < 0) return item;
    return items[items.length - 1]!;
  }

  fork(salt: number): Random {
    return new Random(Math.floor(this.next() * 2 ** 32) ^ Math.imul(salt + 1, 0x9e3779b1));
  }
}
