-- Fencing (DESIGN §4): every lease claim increments the epoch; every write of a spec's state is conditional on
-- (owner_node, epoch) of the writer, so a node that lost its lease (paused, partitioned) cannot write any more.
alter table spec_actors add column epoch bigint not null default 0;
