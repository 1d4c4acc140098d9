// The client side of a `book:<symbol>` subscription (docs/websocket.md "Sequence numbers and gaps"):
// snapshot, then deltas; early deltas are buffered, repeats ignored, and a gap that is not filled
// within gapWaitMs calls onGap (the caller unsubscribes and subscribes again for a fresh snapshot).
import * as decimal from "./decimal.js";

export const GAP_WAIT_MS = 1500; // hold an out-of-order delta 1-2 s before giving up on the range

export class BookFollower {
  constructor(symbol, onGap, gapWaitMs = GAP_WAIT_MS) {
    this.symbol = symbol;
    this.onGap = onGap;
    this.gapWaitMs = gapWaitMs;
    this.bids = new Map(); // canonical price -> [price, quantity] as sent
    this.asks = new Map();
    this.seq = null;
    this.early = []; // deltas that overtook the snapshot
    this.held = []; // deltas after a gap, waiting for the missing range
    this.gapTimer = null;
  }

  snapshot(message) {
    this.bids.clear();
    this.asks.clear();
    for (const [price, quantity] of message.bids) {
      this.set(this.bids, price, quantity);
    }
    for (const [price, quantity] of message.asks) {
      this.set(this.asks, price, quantity);
    }
    this.seq = message.seq;
    const early = this.early.sort((a, b) => a.first_seq - b.first_seq);
    this.early = [];
    for (const delta of early) {
      this.delta(delta);
    }
  }

  delta(message) {
    if (this.seq === null) {
      this.early.push(message);
      return;
    }
    if (message.seq <= this.seq) {
      return; // already included (at-least-once delivery)
    }
    if (message.first_seq > this.seq + 1) {
      this.held.push(message);
      if (this.gapTimer === null) {
        this.gapTimer = setTimeout(() => {
          this.gapTimer = null;
          if (this.held.length > 0) {
            this.onGap(this);
          }
        }, this.gapWaitMs);
      }
      return;
    }
    this.apply(message);
    this.drain();
  }

  apply(message) {
    for (const [side, price, quantity] of message.changes) {
      this.set(side === "BUY" ? this.bids : this.asks, price, quantity);
    }
    this.seq = message.seq;
  }

  drain() {
    let progressed = true;
    while (progressed) {
      progressed = false;
      this.held = this.held.filter((delta) => delta.seq > this.seq);
      this.held.sort((a, b) => a.first_seq - b.first_seq);
      if (this.held.length > 0 && this.held[0].first_seq <= this.seq + 1) {
        this.apply(this.held.shift());
        progressed = true;
      }
    }
    if (this.held.length === 0 && this.gapTimer !== null) {
      clearTimeout(this.gapTimer);
      this.gapTimer = null;
    }
  }

  set(levels, price, quantity) {
    const key = decimal.canonical(price);
    if (decimal.isZero(quantity)) {
      levels.delete(key);
    } else {
      levels.set(key, [price, quantity]);
    }
  }

  dispose() {
    if (this.gapTimer !== null) {
      clearTimeout(this.gapTimer);
      this.gapTimer = null;
    }
  }

  levels(side) {
    const levels = Array.from((side === "BUY" ? this.bids : this.asks).values());
    levels.sort((a, b) => (side === "BUY" ? decimal.compare(b[0], a[0]) : decimal.compare(a[0], b[0])));
    return levels;
  }
}
