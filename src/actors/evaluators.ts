import {
  DesignSchema,
  ExplorationSchema,
  RequirementsSchema,
  TasksSchema,
  type AgentPhase,
  type PhaseOutputs,
  type Requirements,
} from '../schemas/phase-outputs.ts'
import { byId, checkPlan, duplicates } from './sync-plan.ts'
import { inspect, rawAt, verdict, type Verdict } from './verdict.ts'

/**
 * The server's evaluators (CONTRACT §8): pure functions from a submit-tool input to a verdict. Schema issues and broken
 * cross-field rules are hard failures; everything else is a weighted check. Other modules build fixtures against these
 * rules, so change them with care.
 */

export { ACCEPT_SCORE, type Verdict } from './verdict.ts'

/** Evaluate a planning phase's submission; `prior` holds the outputs already accepted for the spec. */
export function evaluatePhase(phase: AgentPhase, output: unknown, prior: Partial<PhaseOutputs>): Verdict {
  switch (phase) {
    case 'explore':
      return evaluateExploration(output)
    case 'requirements':
      return evaluateRequirements(output)
    case 'design':
      return evaluateDesign(output)
    case 'tasks':
      return evaluateTasks(output, prior.requirements)
  }
}

function evaluateExploration(output: unknown): Verdict {
  const { data, failures } = inspect(ExplorationSchema, output)
  return verdict(
    [
      {
        weight: 0.2,
        pass: data.summary.length >= 40,
        fix: `summary is ${data.summary.length} characters: describe the codebase and the change in at least 40.`,
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

/** The five EARS patterns: ubiquitous, event (WHEN), state (WHILE), optional (WHERE), unwanted (IF … THEN). */
const EARS = /^(?:(?:when|while|where)\s+\S.*?,?\s+|if\s+\S.*?,?\s+then\s+)?the\s+\S.*?\s+shall\s+\S/is

function evaluateRequirements(output: unknown): Verdict {
  const { data, failures } = inspect(RequirementsSchema, output)
  const reqs = data.requirements
  const hard = [...failures]
  if (reqs.length === 0) hard.push('no requirements: submit at least one requirement.')
  for (const id of duplicates(reqs.map((r) => r.id))) hard.push(`duplicate requirement id ${id}: give every requirement its own id.`)
  for (const r of reqs) {
    if (!EARS.test(r.ears)) {
      hard.push(
        `${r.id} is not in EARS form: write "WHEN <trigger>, THE <system> SHALL <response>" ` +
          `or another EARS pattern (THE … SHALL …, WHILE …, IF … THEN THE … SHALL …, WHERE …).`,
      )
    }
    if (r.acceptance_criteria.length === 0) hard.push(`${r.id} has no acceptance criteria: add at least one testable criterion.`)
  }

  const vague = reqs.filter((r) => r.title.split(/\s+/).length < 3 && r.title.length < 15).map((r) => `${r.id} "${r.title}"`)
  const average = reqs.length === 0 ? 0 : reqs.reduce((n, r) => n + r.acceptance_criteria.length, 0) / reqs.length
  const repeated = duplicates(reqs.map((r) => r.ears.toLowerCase().replace(/\s+/g, ' ')))
  return verdict(
    [
      {
        weight: 0.25,
        pass: reqs.length > 0 && vague.length === 0,
        fix: `titles must be descriptive${listed(vague)}: use at least 3 words or 15 characters.`,
      },
      {
        weight: 0.25,
        pass: reqs.some((r) => r.priority === 'must'),
        fix: 'no requirement has priority "must": mark the ones the feature cannot ship without.',
      },
      {
        weight: 0.3,
        pass: average >= 2,
        fix: `requirements have ${average.toFixed(1)} acceptance criteria on average: give each at least 2 testable criteria.`,
      },
      {
        weight: 0.2,
        pass: repeated.length === 0,
        fix: `requirements repeat the same EARS text${listed(repeated)}: each should state a different behaviour.`,
      },
    ],
    hard,
  )
}

function evaluateDesign(output: unknown): Verdict {
  const { data, failures } = inspect(DesignSchema, output)
  const fileless = data.components.filter((c) => c.files.length === 0).map((c) => c.name)
  return verdict(
    [
      {
        weight: 0.25,
        pass: data.overview.length >= 100,
        fix: `overview is ${data.overview.length} characters: explain the approach in at least 100.`,
      },
      {
        weight: 0.35,
        pass: data.components.length > 0 && fileless.length === 0,
        fix:
          data.components.length === 0
            ? 'components is empty: name the components with their responsibility and files.'
            : `components without files${listed(fileless)}: list the files each component lives in.`,
      },
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
      { weight: 0.15, pass: data.risks.length > 0, fix: 'risks is empty: name what could go wrong and how you would notice.' },
      {
        weight: 0.15,
        pass: data.testing_strategy.length >= 20,
        fix: `testing_strategy is ${data.testing_strategy.length} characters: say in at least 20 what is tested and how.`,
      },
    ],
    failures,
  )
}

function evaluateTasks(output: unknown, requirements: Requirements | undefined): Verdict {
  const { data: plan, failures } = inspect(TasksSchema, output)
  const hard = [...failures]
  if (!requirements) hard.push('requirements phase output is missing: requirement references cannot be checked.')
  hard.push(...checkPlan(plan, requirements))

  const items = [...plan.tickets, ...plan.tasks]
  const thin = items.filter((item) => item.description.length < 20).map((item) => item.id)
  const unestimated = plan.tasks.filter((t) => !(t.estimate_hours > 0)).map((t) => t.id)
  const fileless = plan.tasks.filter((t) => t.files.length === 0).map((t) => t.id)
  const unlinked = plan.tasks.filter((t) => t.requirements.length === 0).map((t) => t.id)
  const priorities = [...new Set(plan.tickets.map((t) => t.priority))]
  return verdict(
    [
      {
        weight: 0.3,
        pass: items.length > 0 && thin.length === 0,
        fix: `descriptions under 20 characters${listed(thin)}: say what is to be done and how to tell it is done.`,
      },
      {
        weight: 0.25,
        pass: plan.tasks.length > 0 && unestimated.length === 0,
        fix: `tasks without a positive estimate_hours${listed(unestimated)}: estimate each task in hours.`,
      },
      {
        weight: 0.25,
        pass: plan.tasks.length > 0 && fileless.length === 0,
        fix: `tasks that list no files${listed(fileless)}: name the files each task will create or change.`,
      },
      {
        weight: 0.1,
        pass: plan.tasks.length > 0 && unlinked.length === 0,
        fix: `tasks that name no requirement${listed(unlinked)}: link each task to the requirements it implements.`,
      },
      {
        weight: 0.1,
        pass: plan.tickets.length < 2 || priorities.length > 1,
        fix: `every ticket has priority "${priorities[0]}": rank them (critical, high, medium, low) so what matters most goes first.`,
      },
    ],
    hard,
  )
}

function listed(names: string[]): string {
  return names.length > 0 ? ` (${[...names].sort(byId).join(', ')})` : ''
}
