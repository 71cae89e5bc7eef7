"""Who is calling: bearer tokens (HS256 or OpenID Connect), roles, guest order tokens, and the
limits that make abuse cost us nothing."""
