"""Helpers of the browser tests: accessibility and phone-width checks, keyboard use, demo sign-in,
screenshots."""

from __future__ import annotations

import os
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

REPO = Path(__file__).resolve().parents[2]
# A test run leaves the tracked docs alone; IDOPS_SCREENSHOTS=docs/screenshots refreshes them on purpose.
SCREENSHOTS = REPO / os.environ.get("IDOPS_SCREENSHOTS", "test-artifacts/screenshots")
WIDTHS = (1280, 360)
HEIGHT = 800


class A11y:
    """Runs axe-core on a page: a violation of any impact fails the test."""

    def __init__(self, axe: Axe) -> None:
        self._axe = axe
        self.checked: list[str] = []

    def check(self, page: Page, label: str) -> None:
        violations = self._axe.run(page).response["violations"]
        self.checked.append(label)
        assert not violations, f"axe on {label} ({page.url}):\n" + "\n".join(
            f"- {v['id']} [{v['impact']}] {v['help']}: "
            + "; ".join(f"{n['target']} {n.get('failureSummary', '')}" for n in v["nodes"][:5])
            for v in violations
        )

    def page(self, page: Page, label: str, axe_widths: tuple[int, ...] = WIDTHS) -> None:
        """The page as loaded, at 1280 px and at 360 px: no sideways scrolling, no axe violation
        (axe at both widths by default: a table becomes cards on a phone, the menu wraps)."""
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": HEIGHT})
            assert_no_sideways_scroll(page, f"{label} at {width} px")
            if width in axe_widths:
                self.check(page, f"{label} at {width} px")
        page.set_viewport_size({"width": WIDTHS[0], "height": HEIGHT})


def assert_no_sideways_scroll(page: Page, label: str) -> None:
    widths = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
    if widths[0] > widths[1]:
        wide = page.evaluate(
            """() => [...document.querySelectorAll('body *')]
                .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
                .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + '.' + e.className)"""
        )
        raise AssertionError(f"{label} ({page.url}) scrolls sideways: {widths[0]} > {widths[1]} px; too wide: {wide}")


def tab_to(page: Page, selector: str, limit: int = 80) -> None:
    """Press Tab until the element matching ``selector`` has focus (it must be reachable by keyboard)."""
    for _ in range(limit):
        if page.evaluate("(s) => document.activeElement !== null && document.activeElement.matches(s)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{selector} not reached with {limit} presses of Tab on {page.url}")


def type_into(page: Page, selector: str, value: str) -> None:
    """Tab to a text field, replace its value by typing (select all, then type)."""
    tab_to(page, selector)
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.press("Delete")
    if value:
        page.keyboard.type(value)


def focused_id(page: Page) -> str:
    return str(page.evaluate("document.activeElement ? document.activeElement.id : ''"))


def sign_in(page: Page, who: str) -> None:
    """Demo sign-in: the button whose value is ``who`` (e.g. ``principal:tampere/hervanta``)."""
    page.goto("/sign-in")
    page.locator(f'button[name="who"][value="{who}"]').click()
    page.wait_for_load_state()


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)
