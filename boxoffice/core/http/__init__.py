"""HTTP plumbing every route shares: middlewares (body limit, security headers, internal
errors), error answers, request dependencies, health, the OpenAPI document."""
