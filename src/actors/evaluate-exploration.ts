import { ExplorationSchema } from '../schemas/phase-outputs.ts'
import { readingLength } from './text-length.ts'
import { inspect, rawAt, verdict, type Verdict } from './verdict.ts'

/** The exploration evaluator: only schema issues are hard; lengths are reading lengths (a CJK character counts as three). */
export function evaluateExploration(output: unknown): Verdict {
  const { data, failures } = inspect(ExplorationSchema, output)
  const summary = readingLength(data.summary)
  return verdict(
    [
      {
        weight: 0.2,
        pass: summary >= 40,
        fix: `summary is ${summary} characters: describe the codebase and the change in at least 40.`,
      },
      { weight: 0.15, pass: data.tech_stack.length > 0, fix: 'tech_stack is empty: name the languages, frameworks and tools in use.' },
      { weight: 0.2, pass: data.key_files.length > 0, fix: 'key_files is empty: list the files that matter here, each with its purpose.' },
      { weight: 0.15, pass: data.conventions.length > 0, fix: 'conventions is empty: note the code, naming and test conventions to follow.' },
      { weight: 0.1, pass: data.scope_in.length > 0, fix: 'scope_in is empty: say what the change includes.' },
      { weight: 0.1, pass: data.scope_out.length > 0, fix: 'scope_out is empty: say what the change leaves out.' },
      {
        weight: 0.1,
        pass: Array.isArray(rawAt(output, 'open_questions')),
        fix: 'open_questions is not an array: give a list of questions (an empty list if there are none).',
      },
    ],
    failures,
  )
}
