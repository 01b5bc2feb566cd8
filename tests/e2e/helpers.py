"""Helpers of the browser tests: accessibility checks, demo sign-in, screenshots."""

from __future__ import annotations

from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "docs" / "screenshots"
BLOCKING = ("serious", "critical")


class A11y:
    """Runs axe-core on a page; serious or critical violations fail the test."""

    def __init__(self, axe: Axe) -> None:
        self._axe = axe
        self.checked: list[str] = []

    def check(self, page: Page, label: str) -> None:
        results = self._axe.run(page)
        violations = results.response["violations"]
        blocking = [v for v in violations if v.get("impact") in BLOCKING]
        self.checked.append(label)
        for v in violations:  # visible with -s: what axe still finds below the bar
            if v not in blocking:
                print(f"axe {label}: {v['id']} [{v['impact']}] {v['help']} ({len(v['nodes'])} nodes)")
        assert not blocking, f"axe on {label} ({page.url}):\n" + "\n".join(
            f"- {v['id']} [{v['impact']}] {v['help']}: "
            + "; ".join(f"{n['target']} {n.get('failureSummary', '')}" for n in v["nodes"][:5])
            for v in blocking
        )


def sign_in(page: Page, who: str) -> None:
    """Demo sign-in: the button whose value is ``who`` (e.g. ``principal:tampere/hervanta``)."""
    page.goto("/sign-in")
    page.locator(f'button[name="who"][value="{who}"]').click()
    page.wait_for_load_state()


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)
