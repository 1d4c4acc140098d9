"""The Powertools REST resolver every API function builds: validation on, errors mapped in one place."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver

from trading.api.errors import install


def resolver(*routers: Any) -> APIGatewayRestResolver:
    """A REST resolver with request validation, the error mapping and the given route groups."""
    app = APIGatewayRestResolver(enable_validation=True)
    install(app)
    for router in routers:
        app.include_router(router)
    return app
