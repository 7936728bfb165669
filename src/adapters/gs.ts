type Gs = ((...args: unknown[]) => void) & { q?: unknown[] }

// Calls whatever window._gs is at that moment: the snippet's stub while the tracker loads, the
// live tracker after. Without either, it puts the snippet's stub in place so nothing is lost.
export function gs(...args: unknown[]): void {
  const w = window as unknown as { _gs?: Gs }
  if (!w._gs)
    w._gs = function () {
      ;(w._gs!.q = w._gs!.q || []).push(arguments)
    }
  w._gs(...args)
}
