import type { Assignment, PhaseAssignment, TaskAssignment } from '../../schemas/assignment.ts'
import type { AgentPhase } from '../../schemas/phase-outputs.ts'

const PHASE_GOALS: Record<AgentPhase, string> = {
  explore:
    'EXPLORE the codebase in your workspace: what it is, its tech stack, the files that matter for this spec, its conventions, ' +
    'what is in and out of scope, and the questions that remain open.',
  requirements:
    'Write the REQUIREMENTS of this spec in EARS form ("WHEN <trigger> THE SYSTEM SHALL <response>"), ' +
    'with ids REQ-001, REQ-002, …, a priority and testable acceptance criteria for each.',
  design:
    'Write the technical DESIGN that meets the requirements: an overview, components and their files, data models, ' +
    'API endpoints, risks and a testing strategy.',
  tasks:
    'Plan the work as TICKETS (TKT-001, …) and TASKS (TSK-001, …): small tasks with the files they touch, dependencies ' +
    'without cycles, and every requirement covered by at least one task.',
}

function json(value: unknown): string {
  return JSON.stringify(value, null, 2)
}

function section(title: string, body: string): string {
  return `## ${title}\n\n${body}`
}

function feedbackSection(feedback: string[]): string[] {
  if (feedback.length === 0) return []
  return [section('Feedback to take into account', feedback.map((f) => `- ${f}`).join('\n'))]
}

function phaseSections(a: PhaseAssignment): string[] {
  const prior = Object.entries(a.context.prior).map(([phase, output]) => section(`Accepted ${phase} output`, json(output)))
  return [section('Your job', PHASE_GOALS[a.phase]), ...prior, ...feedbackSection(a.context.feedback)]
}

function taskSections(a: TaskAssignment): string[] {
  const { task, context } = a
  return [
    section(
      'Your job',
      `Your task: ${task.id} — ${task.title}\n\n${task.description}\n\n` +
        `Files likely involved: ${task.files.join(', ') || '(none named)'}\n` +
        'Implement it in the workspace, run the relevant tests with run_command, and fix what fails. ' +
        `When you call complete_task your changes are committed and pushed to branch ${task.branch}.`,
    ),
    section('Ticket', json(context.ticket)),
    section('Requirements', json(context.requirements)),
    ...(context.design ? [section('Design', json(context.design))] : []),
    ...(context.dependencies.length > 0 ? [section('Tasks this one builds on (already merged)', json(context.dependencies))] : []),
    ...feedbackSection(context.feedback),
  ]
}

/** The system prompt: the job, the spec, what earlier phases produced, and how to finish. */
export function systemPrompt(a: Assignment): string {
  return [
    'You are an experienced software engineer working inside a sandbox on a git working copy of a project. ' +
      'Use the workspace tools to look at and change files and to run commands. Paths are relative to the workspace root.',
    section('Spec', `${a.spec.title}\n\n${a.spec.description}`),
    ...(a.kind === 'phase' ? phaseSections(a) : taskSections(a)),
    section(
      'How to finish',
      `Finish by calling the ${a.submit_tool} tool. The server evaluates what you submit; if it is rejected, the tool ` +
        `result tells you why and you may submit again (${a.max_submissions - a.submissions_used} submissions left).`,
    ),
  ].join('\n\n')
}

/** The first user turn. */
export function firstMessage(a: Assignment): string {
  const job = a.kind === 'phase' ? `the ${a.phase} phase` : `task ${a.task.id}`
  return `Please do ${job} of the spec "${a.spec.title}" now, and finish with ${a.submit_tool}.`
}
