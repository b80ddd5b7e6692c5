"""The browser interface: log in, see grants and budgets, log an expense and read its verdict,
work the approval queue. 简体中文 first, English available."""
