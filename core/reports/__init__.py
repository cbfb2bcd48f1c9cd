"""Reports on orders: a CSV and a chart for a date range, and the admins' daily summary."""
