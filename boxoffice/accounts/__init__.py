"""Buyer accounts: sign-up, emailed links, passwords, browser sessions, and the orders an
account owns (`AccountService`)."""
