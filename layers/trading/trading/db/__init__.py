"""PostgreSQL (Aurora in AWS) schema: versioned SQL migrations and the runner that applies them."""
