"""Attendees register without an account, without JavaScript; the pages pass axe and fit a phone."""

from __future__ import annotations

import re

import pytest

from tests.browser.actions import (
    axe_violations,
    expect,
    links_in,
    log_in,
    page_width,
    unlabelled_fields,
    wider_than_viewport,
)
from tests.browser.arrange import QUESTIONS, open_lecture
from tests.browser.conftest import PHONE
from tests.conftest import text_of

pytestmark = pytest.mark.browser


def manage_link(message) -> str:
    return next(link for link in links_in(message) if re.search(r"/registrations/[^/]+$", link))


def test_attendee_registers_without_javascript_and_frees_the_seat_from_the_mail(site, page_without_javascript):
    page = page_without_javascript
    lecture = open_lecture(site, capacity=1)
    page.goto(f"/events/{lecture['slug']}")
    expect(page.get_by_text("1 seat left")).to_be_visible()
    page.get_by_label("Name").fill("José Álvarez")
    page.get_by_label("E-mail").fill("jose@example.es")
    page.get_by_label("Country").select_option("ES")
    page.get_by_label("Vegetarian").check()
    page.get_by_label("I need an invitation letter for a visa").check()
    page.get_by_role("button", name="Register").click()
    # The answer to the form only says where the link went: opening it is what proves the address.
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your e-mail")
    expect(page.get_by_role("status")).to_contain_text("jose@example.es")

    page.goto(f"/events/{lecture['slug']}")
    page.get_by_label("Name").fill("王小明")
    page.get_by_label("E-mail").fill("wang@example.cn")
    page.get_by_label("None").check()
    page.get_by_role("button", name="Join the waitlist").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your e-mail")
    page.goto(manage_link(site.wait_for_mail("wang@example.cn")[0]))
    expect(page.get_by_text("position 1 on the waitlist")).to_be_visible()

    confirmation = site.wait_for_mail("jose@example.es")[0]
    page.goto(manage_link(confirmation))
    expect(page.get_by_role("heading", level=1)).to_have_text("Your registration")
    expect(page.locator(".status")).to_have_text("Confirmed")
    expect(page.locator(".qr svg")).to_be_visible()
    withdraw = next(link for link in links_in(confirmation) if link.endswith("/withdraw"))
    page.goto(withdraw)
    page.get_by_role("button", name="Free my place").click()
    expect(page.locator(".status")).to_have_text("Cancelled")

    promoted = site.wait_for_mail("wang@example.cn", count=2)[-1]
    assert promoted["Subject"] == "A seat is free for you: Invited lecture: 开放科学"


def test_attendee_finds_the_lecture_on_the_home_page_registers_in_chinese_and_cancels_from_the_mail(site, page):
    lecture = open_lecture(site, capacity=1, questions=[])
    page.goto("/")
    page.get_by_role("link", name="Invited lecture: 开放科学").first.click()
    expect(page).to_have_url(re.compile(rf"/events/{re.escape(lecture['slug'])}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Invited lecture: 开放科学")

    page.get_by_label("Name").fill("王小明")
    page.get_by_label("E-mail").fill("wang@example.cn")
    page.get_by_label("Affiliation").fill("中国科学院文献情报中心")
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your e-mail")
    expect(page.locator(".facts")).to_contain_text("王小明")

    # The lecture is full now: the next person joins the waitlist.
    page.goto(f"/events/{lecture['slug']}")
    page.get_by_label("Name").fill("Lena Fischer")
    page.get_by_label("E-mail").fill("lena@example.de")
    page.get_by_role("button", name="Join the waitlist").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your e-mail")

    confirmation = site.wait_for_mail("wang@example.cn")[0]
    assert text_of(confirmation).startswith("Dear 王小明,")
    page.goto(manage_link(confirmation))
    expect(page.get_by_role("heading", level=1)).to_have_text("Your registration")
    expect(page.locator(".status")).to_have_text("Confirmed")
    expect(page.locator(".facts")).to_contain_text("王小明")
    page.get_by_role("button", name="Cancel my registration").click()
    # It asks first, on the same page as the e-mail's withdraw link.
    expect(page.get_by_role("heading", level=1)).to_have_text("I can no longer come")
    page.get_by_role("button", name="Free my place").click()
    expect(page.get_by_role("status")).to_contain_text("Your registration is cancelled.")
    expect(page.locator(".status")).to_have_text("Cancelled")

    promoted = site.wait_for_mail("lena@example.de", count=2)[-1]
    assert promoted["Subject"] == "A seat is free for you: Invited lecture: 开放科学"
    page.goto(manage_link(promoted))
    expect(page.locator(".status")).to_have_text("Confirmed")


def test_attendee_completes_the_registration_form_with_the_keyboard_alone(site, page, axe_script: str):
    lecture = open_lecture(site, capacity=5, questions=[QUESTIONS[0]])
    page.goto(f"/events/{lecture['slug']}")

    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "f-name":
            break
    expect(page.get_by_label("Name")).to_be_focused()
    page.keyboard.type("王小明")
    page.keyboard.press("Tab")
    expect(page.get_by_label("E-mail")).to_be_focused()
    page.keyboard.type("wang@example.cn")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Affiliation")).to_be_focused()
    page.keyboard.type("Peking University")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Country")).to_be_focused()
    page.keyboard.type("China")
    expect(page.get_by_label("Country")).to_have_value("CN")
    page.keyboard.press("Tab")
    expect(page.get_by_label("None")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(page.get_by_label("Vegetarian")).to_be_checked()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Register")).to_be_focused()
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text("Check your e-mail")
    expect(page.locator(".facts")).to_contain_text("wang@example.cn")
    assert axe_violations(page, axe_script) == []

    page.goto(manage_link(site.wait_for_mail("wang@example.cn")[0]))
    expect(page.locator(".status")).to_have_text("Confirmed")
    expect(page.get_by_label("Country")).to_have_value("CN")
    expect(page.get_by_label("Vegetarian")).to_be_checked()


PAGES = {
    "event page with the form": ("/events/{slug}", False),
    "manage page": ("/registrations/{token}", False),
    "withdraw page": ("/registrations/{token}/withdraw", False),
    "registrants": ("/organiser/events/{slug}/registrations", True),
    "dashboard": ("/organiser/events/{slug}/registrations/dashboard", True),
    "check-in": ("/organiser/events/{slug}/checkin?q=a", True),
    "settings": ("/organiser/events/{slug}/registrations/settings", True),
}


@pytest.mark.parametrize("name", list(PAGES))
def test_registration_page_passes_axe_labels_every_field_and_fits_a_phone(site, page, axe_script: str, name: str):
    lecture = open_lecture(site, capacity=2, registrants=("Ana", "Bo", "Chen"))
    path, needs_login = PAGES[name]
    if needs_login:
        log_in(page, lecture["organiser"])
    response = page.goto(path.format(slug=lecture["slug"], token=lecture["tokens"][0]))
    assert response is not None and response.status == 200
    assert axe_violations(page, axe_script) == []
    assert unlabelled_fields(page) == []
    page.set_viewport_size(PHONE)
    page.reload()
    assert page_width(page) <= PHONE["width"], wider_than_viewport(page)
