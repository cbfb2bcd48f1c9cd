"""Deadlines of the human states (STAFF_CHAT_ID set): `rules` says which phase has which
deadline and when it is due in opening hours, `store` finds and claims breaches in the
database, `watch` is the watcher run that tells the staff, the admins and the customer."""
