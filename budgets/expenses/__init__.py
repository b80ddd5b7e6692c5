"""Expenses: the field table, schemas, use cases (judge, submit, approve, reverse), bulk import and API."""
