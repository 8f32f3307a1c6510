/**
 * Settings every git command omoi runs (the worker, the local provider, the server's delivery) gives on its command
 * line, over the host user's configuration, which the server and an unconfined worker read (their HOME's .gitconfig):
 * omoi's commits are made by a program, so they are not signed (`commit.gpgsign` fails them without a key, or waits
 * on a pinentry), and the user's own hooks (a global `core.hooksPath`) do not run on them. The repository's hooks
 * still do (`.git/hooks`, relative to where hooks run: Git LFS keeps its pre-push there), and so do a remote's.
 */
export const UNATTENDED_GIT = ['-c', 'commit.gpgsign=false', '-c', 'tag.gpgSign=false', '-c', 'core.hooksPath=.git/hooks']
