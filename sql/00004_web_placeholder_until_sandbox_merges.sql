-- Stands in for migration 00004 of engineer "sandbox" so this branch's numbering has no gap (postgres-shift refuses gaps).
-- Delete this file when merging: the real 00004 takes its place.
select 1;
