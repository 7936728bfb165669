// crypto.randomUUID exists only in secure contexts; getRandomValues works on plain http too.
export const uid = (): string =>
  Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => (b | 256).toString(16).slice(1)).join('')
