"""The REST API edge: pydantic request/response models, routes, error mapping, OpenAPI."""
