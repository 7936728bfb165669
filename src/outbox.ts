import type { WireEvent } from './payload'
import type { Delivery } from './transport'

export type Deliver = (events: WireEvent[], beacon?: boolean) => Promise<Delivery> | undefined

// Events wait here until they are handed over; a hand-over that may succeed later puts them back
// in front, with their ids, so a later flush re-sends them unchanged.
export function createOutbox(deliver: Deliver, delay: number) {
  let waiting: WireEvent[] = []
  let timer: ReturnType<typeof setTimeout> | undefined

  const flush = (beacon?: boolean) => {
    clearTimeout(timer)
    timer = undefined
    const batch = waiting
    const sent = batch.length ? deliver(batch, beacon) : undefined
    if (!sent) return
    waiting = []
    sent.then((d) => {
      if (d.retry) waiting = batch.concat(waiting)
    })
  }

  return {
    push(event: WireEvent) {
      waiting.push(event)
      if (!timer) timer = setTimeout(flush, delay)
    },
    flush,
    size: () => waiting.length,
  }
}

export type Outbox = ReturnType<typeof createOutbox>
