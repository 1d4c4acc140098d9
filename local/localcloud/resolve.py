"""Resolve CloudFormation intrinsics against a deployed stack, for resources moto does not host.

Lambda environments are resolved by moto's CloudFormation itself; the ECS task definition (the
matcher's environment) is skipped in moto, so the runtime resolves its values here: ``Ref`` to a
parameter, pseudo parameter or created resource (its physical id), ``Fn::Sub`` and ``Fn::Join``.
Anything else (``Fn::GetAtt`` of a skipped resource, conditions) yields ``None``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_SUB = re.compile(r"\$\{([^}!][^}]*)\}")


class Resolver:
    def __init__(
        self, physical_ids: Mapping[str, str], parameters: Mapping[str, str], pseudo: Mapping[str, str]
    ):
        self.physical_ids = physical_ids
        self.parameters = parameters
        self.pseudo = pseudo

    def ref(self, name: str) -> str | None:
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return str(self.parameters[name])
        return self.physical_ids.get(name)

    def resolve(self, value: Any) -> str | None:
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, dict) or len(value) != 1:
            return None
        ((key, inner),) = value.items()
        if key == "Ref":
            return self.ref(str(inner))
        if key == "Fn::Sub":
            text, variables = (inner[0], inner[1]) if isinstance(inner, list) else (inner, {})
            missing = False

            def substitute(match: re.Match[str]) -> str:
                nonlocal missing
                name = match.group(1)
                found = self.resolve(variables[name]) if name in variables else self.ref(name)
                if found is None:
                    missing = True
                    return ""
                return found

            result = _SUB.sub(substitute, str(text))
            return None if missing else result
        if key == "Fn::Join":
            separator, parts = inner
            resolved = [self.resolve(part) for part in parts]
            return None if any(p is None for p in resolved) else str(separator).join(str(p) for p in resolved)
        return None

    def parameter_value(self, value: Any) -> Any:
        """A literal, or ``{"Ref": parameter}`` replaced by the parameter's value (for numbers)."""
        if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in self.parameters:
            return self.parameters[value["Ref"]]
        return value
