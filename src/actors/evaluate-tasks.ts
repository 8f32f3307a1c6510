import { TasksSchema, type Requirements } from '../schemas/phase-outputs.ts'
import { checkPlan, coverageOf, uncoveredCriteria } from './sync-plan.ts'
import { readingLength } from './text-length.ts'
import { inspect, perItem, verdict, type Verdict } from './verdict.ts'

/**
 * The tasks evaluator. Hard rules are SYNC's (`checkPlan`): ids unique, references resolve, every requirement covered, no
 * dependency cycle. Soft checks score per item; acceptance criteria no task implements are named but do not reject.
 */
export function evaluateTasks(output: unknown, requirements: Requirements | undefined): Verdict {
  const { data: plan, failures } = inspect(TasksSchema, output)
  const hard = [...failures]
  if (!requirements) hard.push('requirements phase output is missing: requirement references cannot be checked.')
  hard.push(...checkPlan(plan, requirements))

  const items = [...plan.tickets, ...plan.tasks]
  const tasks = plan.tasks
  const thin = items.filter((item) => readingLength(item.description) < 20).map((item) => item.id)
  const unestimated = tasks.filter((t) => !(t.estimate_hours > 0)).map((t) => t.id)
  const fileless = tasks.filter((t) => t.files.length === 0).map((t) => t.id)
  const unlinked = tasks.filter((t) => t.requirements.length === 0).map((t) => t.id)
  const priorities = [...new Set(plan.tickets.map((t) => t.priority))]
  const coverage = requirements ? coverageOf(requirements, plan) : []
  const criteria = coverage.flatMap((row) => row.criteria)
  const uncovered = uncoveredCriteria(coverage)
  const noTasks = 'tasks is empty: plan the tasks that implement the requirements.'
  return verdict(
    [
      perItem(
        0.25,
        items.length,
        thin,
        (ids) => `descriptions under 20 characters${ids}: say what is to be done and how to tell it is done.`,
        'no tickets or tasks: plan the work.',
      ),
      perItem(0.15, tasks.length, unestimated, (ids) => `tasks without a positive estimate_hours${ids}: estimate each task in hours.`, noTasks),
      perItem(0.2, tasks.length, fileless, (ids) => `tasks that list no files${ids}: name the files each task will create or change.`, noTasks),
      perItem(
        0.15,
        tasks.length,
        unlinked,
        (ids) => `tasks that name no requirement${ids}: link each task to the requirements or criteria it implements.`,
        noTasks,
      ),
      {
        weight: 0.1,
        pass: plan.tickets.length < 2 || priorities.length > 1,
        fix: `every ticket has priority "${priorities[0]}": rank them (critical, high, medium, low) so what matters most goes first.`,
      },
      criteria.length === 0
        ? { weight: 0.15, pass: true, fix: '' }
        : perItem(
            0.15,
            criteria.length,
            uncovered,
            (ids) =>
              `acceptance criteria no task implements${ids}: name each in a task's requirements (as ${uncovered[0]}) ` +
              'or reference its whole requirement.',
          ),
    ],
    hard,
  )
}
