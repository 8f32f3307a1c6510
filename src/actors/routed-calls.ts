import type { SpecCommands } from './commands.ts'
import type { RoutedCall } from './router.ts'
import type { SandboxApi } from './sandbox-api.ts'

/** How the node that runs a spec serves a request another node forwarded to it (the same code as a local request). */
export function serveRouted(commands: SpecCommands, sandboxes: SandboxApi): (call: RoutedCall) => Promise<unknown> {
  return async (call) => {
    switch (call.kind) {
      case 'command':
        return commands.commandHere(call.user, call.specId, call.input, call.key)
      case 'assignment':
        return sandboxes.assignmentHere(await sandboxes.sandbox(call.sandboxId))
      case 'ingest':
        return sandboxes.ingestHere(await sandboxes.sandbox(call.sandboxId), call.body)
      case 'result':
        return sandboxes.resultHere(await sandboxes.sandbox(call.sandboxId), call.body)
      case 'budget':
        return sandboxes.budgetHere(call)
    }
  }
}
