"""The trading system's one package: domain, matching engine, services and AWS adapters.

Layering (outer may import inner, never the reverse):
    domain   -- value types, enums, instruments, error codes, exact number conversion (no I/O)
    engine   -- the pure matching engine: commands in, events out (no I/O)
    services -- use cases (place order, settle trades, ...) written against Protocol ports
    adapters -- DynamoDB, SQS, EventBridge, PostgreSQL implementations of those ports
"""
