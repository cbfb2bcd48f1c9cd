"""Staff work on stale orders: alert cards with buttons, reminders, escalation, actions."""
