// What the reference collector accepts (docs/protocol.md); the tracker never sends past it.
export const LIMITS = {
  name: 256,
  personId: 512,
  signature: 1024,
  props: 8192,
  url: 2048,
  title: 512,
}
