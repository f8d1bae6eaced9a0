/**
 * Timeouts that a busy process cannot turn into false verdicts.
 *
 * When the event loop is blocked for longer than a timeout (a loaded CI machine, a garbage collection, another
 * run parsing its scenarios in the same process), the timer and the awaited I/O are both due when the loop
 * wakes, and Node runs timers before it polls for I/O: a connection already established or a packet already
 * in the socket buffer would lose to its own timeout. `setDeadline` runs `onExpiry` only after one more I/O
 * poll (a `setImmediate` from the timer), so whatever had arrived by the deadline is seen first.
 */
export interface Deadline {
  clear(): void;
}

export function setDeadline(onExpiry: () => void, ms: number): Deadline {
  let immediate: NodeJS.Immediate | undefined;
  const timer = setTimeout(() => {
    immediate = setImmediate(onExpiry);
  }, ms);
  return {
    clear() {
      clearTimeout(timer);
      if (immediate) clearImmediate(immediate);
    },
  };
}
