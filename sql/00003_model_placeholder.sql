-- Placeholder so this branch's migrations are numbered without gaps; the lead drops it at merge (the real 00003 comes from another branch).
select 1;
