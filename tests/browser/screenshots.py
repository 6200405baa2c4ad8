"""Regenerates the screenshots in docs/screenshots/ from the demo programme.

    python -m tests.browser.screenshots [--out docs/screenshots]

Needs what the browser tests need (Debian's chromium and fonts-noto-cjk; `sh tests/browser/setup.sh`). CI does not
run this; run it after changing templates or static/style.css and commit the PNGs.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from events_app.settings import PROJECT_ROOT
from tests.browser.live import LiveServer, fresh_database, launch_chromium, run_in_database

WIDTHS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 375, "height": 812}}
# Tall pages are cut here: enough to show the layout without megabyte-sized files.
MAX_HEIGHT = {"desktop": 1500, "phone": 2000}
ORGANISER = ("organiser@example.org", "screenshots-only-password")


def arrange(database_url: str) -> dict[str, str]:
    """Demo programme plus an admin who may open every event; answers the pages to photograph."""
    from sqlalchemy import select

    from events_app.accounts.models import Role
    from events_app.accounts.services import AccountService
    from events_app.demo import load_demo_data
    from events_app.events.models import Event, EventKind, EventStatus

    async def work(session) -> dict[str, str]:
        await load_demo_data(session, only_if_empty=False)
        await AccountService(session=session).create_account(
            ORGANISER[0], ORGANISER[1], full_name="Programme Office", role=Role.ADMIN
        )
        conference = await session.scalar(
            select(Event.slug).where(Event.kind == EventKind.CONFERENCE, Event.status == EventStatus.PUBLISHED)
            .order_by(Event.starts_at.desc()).limit(1)
        )
        # name -> address (those under /organiser are taken logged in). The lead adds the programme grid here once the timetable lands.
        return {"home": "/", "event": f"/events/{conference}", "organiser-dashboard": "/organiser"}

    return run_in_database(database_url, work)


def shrink(path: Path) -> None:
    """256 colours are plenty for flat UI and make the PNG several times smaller."""
    from PIL import Image

    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    small.save(path, optimize=True)


def take(out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        database_url = fresh_database(None, workdir / "screenshots.db")
        pages = arrange(database_url)
        # Nothing is mailed here; port 9 on loopback (discard) is never reached.
        server = LiveServer(database_url, smtp_url="smtp://127.0.0.1:9", workdir=workdir).start()
        try:
            with sync_playwright() as playwright:
                browser = launch_chromium(playwright)
                for width_name, viewport in WIDTHS.items():
                    context = browser.new_context(
                        base_url=server.base_url, viewport=viewport, device_scale_factor=1, locale="en-GB",
                        is_mobile=width_name == "phone",
                    )
                    page = context.new_page()
                    logged_in = False
                    for name, address in pages.items():
                        if address.startswith("/organiser") and not logged_in:
                            logged_in = True
                            page.goto("/login")
                            page.get_by_label("E-mail").fill(ORGANISER[0])
                            page.get_by_label("Password").fill(ORGANISER[1])
                            page.get_by_role("button", name="Log in").click()
                            page.wait_for_url("**/organiser")
                        page.goto(address)
                        height = min(page.evaluate("document.scrollingElement.scrollHeight"), MAX_HEIGHT[width_name])
                        path = out / f"{name}-{width_name}.png"
                        page.screenshot(path=str(path), full_page=True,
                                        clip={"x": 0, "y": 0, "width": viewport["width"], "height": height})
                        shrink(path)
                        written.append(path)
                    context.close()
                browser.close()
        finally:
            server.stop()
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "docs" / "screenshots")
    args = parser.parse_args(argv)
    for path in take(args.out):
        print(f"{path.relative_to(PROJECT_ROOT) if path.is_relative_to(PROJECT_ROOT) else path}  "
              f"{path.stat().st_size // 1024} KiB")


if __name__ == "__main__":
    main()
