/**
 * A CSV of rows (RFC 4180), for a spreadsheet. A cell a spreadsheet would run as a formula (one
 * starting with =, +, -, @, a tab or a return: what the console shows came from senders) is
 * written with a leading apostrophe, a number aside.
 */
export function csvOf(rows: string[][]): string {
  const field = (v: string) => {
    const safe = /^[=+\-@\t\r]/.test(v) && !/^-?\d+(\.\d+)?$/.test(v) ? "'" + v : v
    return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe
  }
  return rows.map((r) => r.map(field).join(',')).join('\r\n') + '\r\n'
}
