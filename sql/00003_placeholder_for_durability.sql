-- Placeholder so this branch migrates on its own: durability's migration 00003 takes this number at merge (delete
-- this file then).
select 1;
