"""Per-run counters of the lifecycle jobs (``{"expired": 3, "failed": 1}``)."""

from __future__ import annotations

from collections import Counter


class Counts(Counter[str]):
    def add(self, key: str, n: int = 1) -> None:
        self[key] += n

    def merge(self, other: dict[str, int]) -> None:
        for key, n in other.items():
            self[key] += n

    def as_dict(self) -> dict[str, int]:
        return {k: v for k, v in self.items() if v}
