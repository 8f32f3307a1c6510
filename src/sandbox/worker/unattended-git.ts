/**
 * Settings every git command omoi runs (the worker, the local provider, the server's delivery) gives on its command
 * line, over the host user's configuration, which the server and an unconfined worker read (their HOME's .gitconfig):
 * omoi's commits are made by a program, so they are not signed (`commit.gpgsign` fails them without a key, or waits
 * on a pinentry), and the user's own hooks do not run on them: neither a global `core.hooksPath` nor hooks that an
 * `init.templateDir` would copy into omoi's clones. The repository's hooks still do (`.git/hooks`, relative to where
 * hooks run: Git LFS installs its pre-push there), and so do a remote's.
 */
export const UNATTENDED_GIT = [
  ['commit.gpgsign', 'false'],
  ['tag.gpgSign', 'false'],
  ['core.hooksPath', '.git/hooks'],
  ['init.templateDir', ''],
].flatMap(([key, value]) => ['-c', `${key}=${value}`])
