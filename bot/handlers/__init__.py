"""Handlers, one module per group of commands."""
