import { createReadStream, existsSync, renameSync } from 'node:fs'
import { eventProblem, isObject, LIMITS, storableEvent, type IncomingEvent, type StoredEvent, type Verdict } from '../verify/batch'
import type { Store } from './store'
import { deviceParts } from '../verify/device'

const VERDICTS = new Set<unknown>(['verified', 'anonymous', 'unchecked', 'missing_signature', 'bad_signature', 'expired_signature'])
// Longer than any record an earlier collector wrote (one event of a 128 KiB body): anything longer
// is not a record, and is skipped without being held in memory.
const MAX_LINE = 1024 * 1024
const CHUNK = 500

/** One line of an earlier collector's JSONL file as a stored record, cleaned as the collector cleans events, or undefined. */
export function storedRecord(line: string): StoredEvent | undefined {
  let record: unknown
  try {
    record = JSON.parse(line)
  } catch {
    return
  }
  if (!isObject(record) || eventProblem(record) || record.signature !== undefined) return
  const { project, receivedAt, verdict, ip, time, device } = record
  if (typeof project != 'string' || !Number.isFinite(receivedAt) || !VERDICTS.has(verdict)) return
  if (ip !== undefined && !(typeof ip == 'string' && ip.length <= 64)) return
  // Collectors before the clock correction kept no time: the device's own ts is the best there is.
  const event = storableEvent(record as unknown as IncomingEvent, {
    time: Number.isFinite(time) ? (time as number) : (record.ts as number),
    project,
    receivedAt: receivedAt as number,
    verdict: verdict as Verdict,
    ip: ip as string | undefined,
    // A device label as a collector makes it (device.ts), or none: it only feeds the console's counts.
    device: deviceParts(device) && (device as string).length <= 200 ? (device as string) : undefined,
  })
  return JSON.stringify(event).length <= LIMITS.event ? event : undefined
}

/** The file's lines, read a chunk at a time; a line over MAX_LINE bytes comes out as undefined, unread. */
async function* lines(file: string): AsyncGenerator<string | undefined> {
  let parts: Buffer[] = []
  let size = 0
  let overlong = false
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    let start = 0
    for (let end = chunk.indexOf(10); end != -1; start = end + 1, end = chunk.indexOf(10, start)) {
      yield overlong || size + end - start > MAX_LINE ? undefined : Buffer.concat([...parts, chunk.subarray(start, end)]).toString('utf8')
      parts = []
      size = 0
      overlong = false
    }
    if (overlong) continue
    size += chunk.length - start
    if (size > MAX_LINE) [parts, overlong] = [[], true]
    else parts.push(chunk.subarray(start))
  }
  // The last line, unless cut short by a crash mid-write: then it does not parse and is skipped.
  if (size || overlong) yield overlong ? undefined : Buffer.concat(parts).toString('utf8')
}

export interface ImportResult {
  /** Events stored now. */
  imported: number
  /** Events the store had already (an import cut short and started again). */
  present: number
  /** Lines that were not a stored record: cut short by a crash, or not Signet's. */
  skipped: number
  /** Where the file was moved to, so that it is not imported again (absent with `keep`). */
  renamedTo?: string
}

/**
 * Imports a JSONL file of stored records (an earlier Signet's data file, or `signet export`'s) into
 * the store, streaming it (any size, bounded memory), then renames it, unless `keep` (signet import:
 * the file is the user's). Imported again after a crash halfway, it stores each event once.
 */
export async function importJsonl(file: string, store: Store, { keep = false } = {}): Promise<ImportResult | undefined> {
  if (!existsSync(file)) return
  const result = { imported: 0, present: 0, skipped: 0 }
  let chunk: StoredEvent[] = []
  const flush = async () => {
    // An event of the file under an id the store holds for another event is not taken: skipped.
    for (const outcome of await store.add(chunk)) result[outcome == 'stored' ? 'imported' : outcome == 'repeat' ? 'present' : 'skipped']++
    chunk = []
  }
  for await (const line of lines(file)) {
    if (line !== undefined && !line.trim()) continue
    const event = line === undefined ? undefined : storedRecord(line)
    if (!event) result.skipped++
    else if (chunk.push(event) == CHUNK) await flush()
  }
  await flush()
  if (keep) return result
  let renamedTo = file + '.imported'
  if (existsSync(renamedTo)) renamedTo += '-' + new Date().toISOString().replace(/[:.]/g, '-')
  renameSync(file, renamedTo)
  return { ...result, renamedTo }
}
