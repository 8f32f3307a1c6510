-- Issue 17: the project's check command, and what a spec delivered (its branch, the integrated check, the pull request).
alter table projects add column check_command text;
-- the check command this spec runs: the project's, or (the project has none) the one EXPLORE found
alter table specs add column check_command text;
-- {branch, base, commit, check, files_changed, insertions, deletions, pull_request}: see src/schemas/present.ts
alter table specs add column delivery jsonb;
