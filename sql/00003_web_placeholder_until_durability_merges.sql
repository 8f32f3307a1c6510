-- Stands in for migration 00003 of engineer "durability" so this branch's numbering has no gap (postgres-shift refuses gaps).
-- Delete this file when merging: the real 00003 takes its place.
select 1;
