import { toJsonSchema } from '@valibot/to-json-schema'
import type { GenericSchema } from 'valibot'
import type { ToolDefinition } from './assignment.ts'
import { CompleteTaskSchema, PHASE_OUTPUT_SCHEMAS, SUBMIT_TOOLS, type AgentPhase } from './phase-outputs.ts'

/** The workspace tools every phase and task offers (CONTRACT §8). The worker implements them. */
export const WORKSPACE_TOOLS: ToolDefinition[] = [
  {
    name: 'list_files',
    description: 'List files and folders under a path of the workspace (default: the workspace root), recursively, skipping .git and node_modules.',
    input_schema: { type: 'object', properties: { path: { type: 'string' } } },
  },
  {
    name: 'read_file',
    description: 'Read a text file of the workspace.',
    input_schema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
  },
  {
    name: 'write_file',
    description: 'Create or overwrite a file of the workspace.',
    input_schema: {
      type: 'object',
      properties: { path: { type: 'string' }, content: { type: 'string' } },
      required: ['path', 'content'],
    },
  },
  {
    name: 'edit_file',
    description: 'Replace the one occurrence of old_text in a file with new_text.',
    input_schema: {
      type: 'object',
      properties: { path: { type: 'string' }, old_text: { type: 'string' }, new_text: { type: 'string' } },
      required: ['path', 'old_text', 'new_text'],
    },
  },
  {
    name: 'search',
    description: 'Search file contents of the workspace for a regular expression; answers path:line: text.',
    input_schema: { type: 'object', properties: { pattern: { type: 'string' }, path: { type: 'string' } }, required: ['pattern'] },
  },
  {
    name: 'run_command',
    description: 'Run a shell command in the workspace root and return its exit code and output (capped).',
    input_schema: {
      type: 'object',
      properties: { command: { type: 'string' }, timeout_s: { type: 'number' } },
      required: ['command'],
    },
  },
]

const SUBMIT_DESCRIPTIONS: Record<AgentPhase | 'task', string> = {
  explore: 'Submit what you learned about the codebase. The server scores it; a rejection tells you what to improve.',
  requirements:
    'Submit the requirements in EARS form ("WHEN <trigger> THE SYSTEM SHALL <response>"), each with acceptance criteria.',
  design: 'Submit the technical design: overview, components, data models, API, risks and testing strategy.',
  tasks: 'Submit tickets and tasks. Every requirement must be covered by a task; dependencies must not form a cycle.',
  task:
    'Finish the task: summarize what you changed. Your work is then committed and the project check is run on it; a failing check comes back to you with its output. If the task truly needs no change, say why in no_change_reason.',
}

function submitTool(name: string, description: string, schema: GenericSchema): ToolDefinition {
  const { $schema: _ignored, ...input_schema } = toJsonSchema(schema, { errorMode: 'ignore' }) as Record<string, unknown>
  return { name, description, input_schema: input_schema as ToolDefinition['input_schema'] }
}

/** The one submit tool of a planning phase. */
export function phaseSubmitTool(phase: AgentPhase): ToolDefinition {
  return submitTool(SUBMIT_TOOLS[phase], SUBMIT_DESCRIPTIONS[phase], PHASE_OUTPUT_SCHEMAS[phase])
}

/** The submit tool of a task. */
export function taskSubmitTool(): ToolDefinition {
  return submitTool(SUBMIT_TOOLS.task, SUBMIT_DESCRIPTIONS.task, CompleteTaskSchema)
}
