import { CompleteTaskSchema, type AgentPhase, type PhaseOutputs } from '../schemas/phase-outputs.ts'
import { evaluateDesign } from './evaluate-design.ts'
import { evaluateExploration } from './evaluate-exploration.ts'
import { evaluateRequirements } from './evaluate-requirements.ts'
import { evaluateTasks } from './evaluate-tasks.ts'
import { inspect, rawAt, verdict, type Verdict } from './verdict.ts'

/**
 * The server's evaluators (CONTRACT §8): pure functions from a submit-tool input to a verdict. Schema issues and broken
 * cross-field rules are hard failures; everything else is a weighted check, scored per item. Each phase's evaluator lives
 * in its own module (evaluate-*.ts). Other modules build fixtures against these rules, so change them with care.
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

/** Evaluate a task's `complete_task` submission. */
export function evaluateTask(output: unknown, task: { id: string; title: string }): Verdict {
  const { data, failures } = inspect(CompleteTaskSchema, output)
  const hard = [...failures]
  // A missing or non-boolean `passed` is already a schema failure; this is the honest "they failed" case.
  if (rawAt(output, 'tests', 'passed') === false) hard.push('the tests you reported did not pass: fix them and run them again.')
  return verdict(
    [
      {
        weight: 0.3,
        pass: data.summary.length >= 20,
        fix: `summary is ${data.summary.length} characters: say in at least 20 what you did for ${task.id} "${task.title}".`,
      },
      { weight: 0.3, pass: data.files_changed.length > 0, fix: 'files_changed is empty: list every file you created or changed.' },
      { weight: 0.2, pass: data.tests.command.trim() !== '', fix: 'tests.command is empty: give the command you ran the tests with.' },
      {
        weight: 0.2,
        pass: data.tests.output_tail.trim() !== '',
        fix: 'tests.output_tail is empty: include the last lines the test run printed.',
      },
    ],
    hard,
  )
}
