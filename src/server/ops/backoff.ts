/** How long to wait between attempts: from `baseMs`, doubling each time, never over `capMs`. */
export interface Backoff {
  baseMs: number
  capMs: number
}

/**
 * The wait before the attempt after the `failures`-th failure in a row (1: the first): base × 2^(n-1),
 * capped, then drawn in its upper half, so that processes that failed together (workers losing one
 * database) do not all try again at the same moment. Pure: `random` is given in tests.
 */
export const backoffDelay = (failures: number, { baseMs, capMs }: Backoff, random = Math.random) =>
  Math.round(Math.min(capMs, baseMs * 2 ** Math.min(Math.max(failures - 1, 0), 30)) * (0.5 + random() / 2))
