import { DesignSchema } from '../schemas/phase-outputs.ts'
import { readingLength, wordCount } from './text-length.ts'
import { inspect, perItem, rawAt, verdict, type Verdict } from './verdict.ts'

/**
 * The design evaluator: only schema issues are hard; the rest are weighted checks, scored per item where there are items.
 * Lengths are reading lengths (a CJK character counts as three letters). Files per component are worth little on their
 * own: many good designs name none (the tasks name them). Risks likewise: a design may put them in its overview.
 */
export function evaluateDesign(output: unknown): Verdict {
  const { data, failures } = inspect(DesignSchema, output)
  const overview = readingLength(data.overview)
  const testing = readingLength(data.testing_strategy)
  const components = data.components
  const thin = components.filter((c) => wordCount(c.responsibility) < 3 && readingLength(c.responsibility) < 15).map((c) => c.name)
  const fileless = components.filter((c) => c.files.length === 0).map((c) => c.name)
  const noComponents = 'components is empty: name the components with their responsibility and files.'
  return verdict(
    [
      {
        weight: 0.2,
        pass: overview >= 100,
        fix: `overview is ${overview} characters: explain the approach in at least 100.`,
      },
      perItem(
        0.3,
        components.length,
        thin,
        (ids) => `components whose responsibility is under 3 words${ids}: say what each one does.`,
        noComponents,
      ),
      perItem(
        0.15,
        components.length,
        fileless,
        (ids) => `components without files${ids}: list the files each component lives in.`,
        noComponents,
      ),
      {
        weight: 0.05,
        pass: Array.isArray(rawAt(output, 'data_models')),
        fix: 'data_models is not an array: list the data models (an empty list if there are none).',
      },
      {
        weight: 0.05,
        pass: Array.isArray(rawAt(output, 'api')),
        fix: 'api is not an array: list the endpoints or functions exposed (an empty list if there are none).',
      },
      { weight: 0.1, pass: data.risks.length > 0, fix: 'risks is empty: name what could go wrong and how you would notice.' },
      {
        weight: 0.15,
        pass: testing >= 20,
        fix: `testing_strategy is ${testing} characters: say in at least 20 what is tested and how.`,
      },
    ],
    failures,
  )
}
