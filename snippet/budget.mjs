export const SNIPPET_BUDGET = 300
