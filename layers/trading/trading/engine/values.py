"""Value-object behaviour shared by engine commands and events.

Subclasses declare ``FIELDS`` and implement ``values()`` (the field values in that order); they get
value equality, hashing and a readable ``repr``. Attributes are declared ``Final`` in the
subclasses: mypy rejects assignment and, compiled with mypyc, assignment raises at run time.
"""

from typing import Any, ClassVar


class ValueObject:
    __slots__ = ()
    FIELDS: ClassVar[tuple[str, ...]] = ()

    def values(self) -> tuple[Any, ...]:
        """The field values, in ``FIELDS`` order."""
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self) or not isinstance(other, ValueObject):
            return NotImplemented
        return self.values() == other.values()

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.values()))

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in zip(self.FIELDS, self.values(), strict=True))
        return f"{type(self).__name__}({fields})"
