"""Photos: one job per photo, its renditions, and opening untrusted images safely."""
