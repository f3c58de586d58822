"""Use cases: one function per user action. Each checks who may act, applies the
rules, writes the audit event and commits. Pages and API routers call these."""
