-- Placeholder so the numbering stays contiguous on the delivery branch; the lead drops it when sandbox's migration lands.
select 1;
