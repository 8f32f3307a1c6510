/** The text of every agent event the fan-out benches post: a line a real agent prints while it explores a codebase. */
export const AGENT_TEXT = 'Reading src/todos/routes.ts to see how PATCH validates its body before adding due_at to the schema.'
