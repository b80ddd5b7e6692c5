"""科研经费管理: grants, institutions, people and their money flows (the lowest layer)."""
