"""Orders imported from a CSV an admin sends: streamed, validated row by row, idempotent."""
