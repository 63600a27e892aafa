"""Staff accounts of the review area: users, roles, passwords and API tokens."""
