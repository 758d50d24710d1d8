-- The console filters the audit log by operator: without this index a rare operator's entries
-- are found by walking the whole log, newest first.
CREATE INDEX audit_by_operator ON audit_log (operator, id);
