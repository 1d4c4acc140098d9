"""The reconciliation report: every mismatch found, named, and nothing fixed (docs/ledger.md)."""

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Mismatch:
    check: str
    key: str  # what is off: an asset, account/asset, journal, trade, order or queue
    expected: int
    actual: int
    detail: str = ""


@dataclass
class ReconciliationReport:
    assets: dict[str, int] = field(default_factory=dict)  # total funds per asset
    mismatches: list[Mismatch] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)  # the checks that ran
    examined: dict[str, int] = field(default_factory=dict)  # e.g. orders, outbox items

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def counts(self) -> dict[str, int]:
        """Mismatches per check, every check that ran included (0 when clean)."""
        found = dict.fromkeys(self.checked, 0)
        for m in self.mismatches:
            found[m.check] = found.get(m.check, 0) + 1
        return found

    def to_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "assets": self.assets,
            "mismatches": [asdict(m) for m in self.mismatches],
            "checked": self.checked,
            "examined": self.examined,
        }
