import { lstat, realpath } from 'node:fs/promises'
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path'

/** A failure the model should read as a tool result (is_error), not a crash of the worker. */
export class ToolError extends Error {
  override name = 'ToolError'
}

function isInside(root: string, target: string): boolean {
  const rel = relative(root, target)
  return rel === '' || (rel !== '..' && !rel.startsWith('..' + sep) && !isAbsolute(rel))
}

/** The real path of `path`, following every symlink on the way, also for a file that does not exist yet. */
async function realResolve(path: string): Promise<string> {
  try {
    return await realpath(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    // A dangling symlink: writing through it would create its target, wherever that is.
    if (await lstat(path).then(() => true, () => false)) throw new ToolError(`${path} is a broken symlink`)
    const parent = dirname(path)
    if (parent === path) return path
    return join(await realResolve(parent), basename(path))
  }
}

/**
 * Resolves a path given by the model against the workspace root (`root` must be a real path) and refuses
 * anything that lands outside it, through `..`, an absolute path or a symlink.
 */
export async function confine(root: string, path: string | undefined): Promise<string> {
  const wanted = resolve(root, path ?? '.')
  const real = isInside(root, wanted) ? await realResolve(wanted) : wanted
  if (!isInside(root, real)) throw new ToolError(`path escapes the workspace: ${path}`)
  return real
}

/** The workspace-relative name shown to the model. */
export function shown(root: string, path: string): string {
  return relative(root, path) || '.'
}
