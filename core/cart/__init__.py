"""The per-chat cart: what a chat has picked from /menu, before checkout (core.cart.store)."""
