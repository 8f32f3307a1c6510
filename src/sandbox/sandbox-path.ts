/**
 * The PATH a local sandbox's commands get (the worker's and a check's): the server's, less what `npm start` (npm run)
 * put in front of it for omoi itself: every `…/node_modules/.bin` (omoi's own tools: an agent typing `vitest` or `tsc`
 * in a project without them would run omoi's) and npm's `node-gyp-bin`. `path` is a PATH value; answers one, with the
 * default `/usr/bin:/bin` when nothing is left.
 */
export function sandboxPath(path: string | undefined): string {
  const kept = (path ?? '')
    .split(':')
    .filter((dir) => dir !== '' && !/\/node_modules\/\.bin\/?$/.test(dir) && !/\/node-gyp-bin\/?$/.test(dir))
  return kept.length > 0 ? kept.join(':') : '/usr/bin:/bin'
}
