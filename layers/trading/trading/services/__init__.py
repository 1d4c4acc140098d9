"""Use cases written against ``Protocol`` ports; the function edge wires the adapters."""
