"""The guided `/pedido`: what a user was asked and what they answered."""
