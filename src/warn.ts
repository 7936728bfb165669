// Every complaint goes through here so the host page sees one prefixed line per problem.
export const warn = (message: string): void => {
  console.warn('[signet] ' + message)
}

/** What was thrown, as text, whatever was thrown (an object whose toString throws included). */
export const text = (e: unknown): string => {
  try {
    return String((e as Error).message || e)
  } catch (_) {
    return '?'
  }
}
