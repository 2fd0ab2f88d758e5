-- Why (issue 15): the worker reminds a carrier once per information date that its answer is due soon; "once"
-- is read from the outbox itself (an event for this application with this date), so no column is added to
-- applications. The check runs every minute for every application awaiting an answer; this partial index keeps
-- it a lookup of a handful of rows however large the outbox grows (asset and application events of years).
create index event_outbox_information_reminders on event_outbox (subject)
  where type = 'application.information_due_soon';
