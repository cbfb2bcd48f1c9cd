"""Telegram Payments: signed invoice payloads, invoices made from orders, the pre-checkout
checks, payments recorded once, their verification and refunds."""
