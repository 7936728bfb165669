// Every complaint goes through here so the host page sees one prefixed line per problem.
export const warn = (message: string): void => {
  console.warn('[signet] ' + message)
}
