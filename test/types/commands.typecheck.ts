// Compiled by `npm run typecheck`: the router's list of commands (src/tracker.ts) and the public
// Command type (types/signet.d.ts) name the same commands. The list `satisfies` the type (no name
// that is not a command); this says every command of the type is in the list.
import type { Command } from '../../types/signet'
import type { COMMANDS } from '../../src/tracker'

type Missing = Exclude<Command, (typeof COMMANDS)[number]>
export const everyCommandRouted: [Missing] extends [never] ? true : Missing = true
