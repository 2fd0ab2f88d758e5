"""Events (issue 15): the outbox written by triggers (sql/081, 082), and the worker that delivers it."""
