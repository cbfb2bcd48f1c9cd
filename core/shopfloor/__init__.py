"""The shop floor: orders fulfilled by people from the staff chat (STAFF_CHAT_ID).

`preparar_envio` posts each order's card there and the order waits in a human state; each
press on the card's buttons is one conditional transition with the staff member in the
order's history (core.orders.store), then the card, the customer's status message and one
message to the customer follow. Nothing sleeps or holds a worker while people work.

- `board`: where each order's card is (order_cards), the open orders, a search;
- `moves`: which moves a card offers, and a press made into one transition;
- `cards`: a card's text and buttons;
- `access`: who may press (STAFF_USER_IDS, or an administrator of the staff chat);
- `floor`: the workers' side: post a card once, refresh it, tell the customer once.
"""
