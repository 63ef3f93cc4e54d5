// A small binary min-heap of (level, id) pairs for the even fill's events.

export class LevelQueue {
  private levels: number[] = [];
  private ids: number[] = [];

  get size(): number {
    return this.levels.length;
  }

  push(level: number, id: number): void {
    const { levels, ids } = this;
    let i = levels.length;
    levels.push(level);
    ids.push(id);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (levels[parent] <= level) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  peekLevel(): number {
    return this.levels.length > 0 ? this.levels[0] : Number.POSITIVE_INFINITY;
  }

  peekId(): number {
    return this.ids[0];
  }

  pop(): void {
    const { levels, ids } = this;
    const last = levels.length - 1;
    if (last < 0) return;
    this.swap(0, last);
    levels.pop();
    ids.pop();
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < levels.length && levels[left] < levels[smallest]) smallest = left;
      if (right < levels.length && levels[right] < levels[smallest]) smallest = right;
      if (smallest === i) return;
      this.swap(i, smallest);
      i = smallest;
    }
  }

  private swap(a: number, b: number): void {
    const { levels, ids } = this;
    const level = levels[a];
    levels[a] = levels[b];
    levels[b] = level;
    const id = ids[a];
    ids[a] = ids[b];
    ids[b] = id;
  }
}
