"""绩效评价: mid-term reviews, annual reports and final acceptance, scheduled per grant, with reminders."""
