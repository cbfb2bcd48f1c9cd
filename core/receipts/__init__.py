"""Receipts: every paid order's numbered receipt (and a refund's corrective one), in one
gapless sequence per year taken in the payment's own transaction; the receipt as a PDF, the
month's statement, and the receipt by email."""
