"""Accounts: sign-in, API tokens and the users admins manage."""
