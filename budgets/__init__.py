"""Budgets (预算), adjustments (预算调剂) and expenses of a grant."""
