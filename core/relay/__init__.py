"""Messages between the shop's staff and a customer through an order, and the photos a
customer attaches to an order (README, "Messages, quotes and order photos")."""
