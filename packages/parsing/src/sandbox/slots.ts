/**
 * A counting semaphore: at most `size` holders at once, waiters served in arrival order. The
 * parse sandbox's OCR slots: every OCR of a page in any of its workers holds one.
 */
export class Slots {
  private held = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly size: number) {
    if (!(Number.isInteger(size) && size >= 1)) throw new RangeError(`slot count must be an integer >= 1, got ${size}`);
  }

  /** Holders now. */
  get inUse(): number {
    return this.held;
  }

  /** Waiters now. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Resolves to the release of a slot once one is free; `cancel` of the returned handle drops a request still waiting. */
  acquire(): { granted: Promise<() => void>; cancel(): void } {
    let grant!: () => void;
    const granted = new Promise<() => void>((resolve) => {
      grant = () => {
        this.held++;
        let released = false;
        resolve(() => {
          if (released) return;
          released = true;
          this.held--;
          this.waiting.shift()?.();
        });
      };
    });
    if (this.held < this.size) grant();
    else this.waiting.push(grant);
    return {
      granted,
      cancel: () => {
        const i = this.waiting.indexOf(grant);
        if (i >= 0) this.waiting.splice(i, 1);
      },
    };
  }
}
