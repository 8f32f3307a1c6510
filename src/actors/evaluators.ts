import type { AgentPhase, PhaseOutputs } from '../schemas/phase-outputs.ts'
import { evaluateDesign } from './evaluate-design.ts'
import { evaluateExploration } from './evaluate-exploration.ts'
import { evaluateRequirements } from './evaluate-requirements.ts'
import { evaluateTasks } from './evaluate-tasks.ts'
import type { Verdict } from './verdict.ts'

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
