/** A React hook that reloads data on a timer: fast while something is live, slow otherwise. */

import * as React from 'react';

/**
 * Calls `load` now and again after each answer; `load` resolves to true while
 * what it shows is still changing (a run is active), which picks `fastMs` for
 * the next call. Calls never overlap, and stop when the component unmounts.
 * Changing `trigger` reloads at once.
 */
export function usePolling(load: () => Promise<boolean>, fastMs: number, slowMs: number, trigger: unknown): void {
  const loadRef = React.useRef(load);
  loadRef.current = load;
  React.useEffect(() => {
    let stopped = false;
    let timer: number | undefined;
    const tick = async () => {
      let live = false;
      try {
        live = await loadRef.current();
      } catch (error) {
        console.warn('jupyter-flows: refresh failed', error);
      }
      if (!stopped && slowMs > 0) {
        timer = window.setTimeout(tick, live ? fastMs : slowMs);
      } else if (!stopped && live) {
        timer = window.setTimeout(tick, fastMs);
      }
    };
    void tick();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
    };
  }, [trigger, fastMs, slowMs]);
}
