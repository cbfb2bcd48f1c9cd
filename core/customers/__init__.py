"""Customers: who ordered, and their right to erasure (core.customers.erasure)."""
