"""Checking the books against Stripe: what Stripe says was paid and refunded in a period,
matched with our payment attempts, refunds and orders (`rules.py`, pure), read by activities
(`activities.py`), run daily by a Temporal Schedule and by hand (`workflow.py`, `cli.py`)."""
