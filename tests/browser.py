"""Open a generated page in headless Chromium (the system's, driven by Playwright) and
report what a reader would meet: errors in the console, charts that drew nothing, the
tables' rows. A screenshot of each page lands in `test-artifacts/` (CI keeps it)."""

import shutil
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.helpers import REPO

ARTIFACTS = REPO / "test-artifacts"
_INKED_PIXELS = """() => [...document.querySelectorAll("canvas")].map((canvas) => {
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let inked = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i]) inked++;
  return inked;
})"""


@dataclass
class PageView:
    errors: list[str]
    """Console errors and uncaught exceptions."""
    charts: int
    """Chart containers on the page."""
    inked: list[int]
    """Per canvas, how many of its pixels are drawn."""
    first_cells: dict[str, list[str]]
    """Per table id, the text of each row's first cell (header row left out)."""
    screenshot: Path


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "chromium not found: scripts/system-deps installs it (apt-get install chromium)"
    return found


def view(page_path: Path, name: str) -> PageView:
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / f"{name}.png"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(page_path.resolve().as_uri())
            page.wait_for_load_state("load")
            page.screenshot(path=str(screenshot), full_page=True)
            tables = page.evaluate(
                """() => Object.fromEntries([...document.querySelectorAll("table[id]")].map(
                    (t) => [t.id, [...t.rows].slice(1).map((r) => r.cells[0].innerText)]))"""
            )
            return PageView(
                errors=errors,
                charts=page.locator(".chart").count(),
                inked=page.evaluate(_INKED_PIXELS),
                first_cells=tables,
                screenshot=screenshot,
            )
        finally:
            browser.close()
