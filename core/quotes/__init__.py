"""Quotes: a /pedido the catalogue cannot price becomes a request the staff price by hand
(README, "Messages, quotes and order photos")."""
