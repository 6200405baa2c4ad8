"""Speaker photos: checked by content, resized, stored under a generated name, served by a route."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from events_app.core.validation import ValidationFailed
from events_app.speakers.services import MAX_PHOTO_BYTES, resized_photo
from tests.schedule_support import conference, person, sign_in, submit, talk


def image_bytes(fmt: str, size=(1600, 1200), mode="RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (200, 30, 30) if mode == "RGB" else (200, 30, 30, 128)).save(out, format=fmt)
    return out.getvalue()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_jpeg_png_and_webp_are_accepted_and_shrunk(fmt):
    resized = Image.open(io.BytesIO(resized_photo(image_bytes(fmt))))
    assert resized.format == "JPEG" and max(resized.size) == 600


def test_transparent_png_gets_a_white_background():
    resized = Image.open(io.BytesIO(resized_photo(image_bytes("PNG", (50, 50), "RGBA"))))
    assert resized.mode == "RGB"


@pytest.mark.parametrize("content", [b"just some text, not an image", b"", image_bytes("GIF", (10, 10))])
def test_anything_but_a_jpeg_png_or_webp_is_refused(content):
    with pytest.raises(ValidationFailed) as caught:
        resized_photo(content)
    assert "photo" in caught.value.errors


def test_oversized_upload_is_refused():
    with pytest.raises(ValidationFailed) as caught:
        resized_photo(b"\xff\xd8" + b"0" * MAX_PHOTO_BYTES)
    assert "5 MB" in caught.value.errors["photo"]


async def test_text_file_named_jpg_is_refused_on_upload(client, db, organiser, settings):
    speaker = await person(db, "Leila Haddad", creator=organiser)
    await sign_in(client, organiser.email)
    response = await submit(client, f"/organiser/speakers/{speaker.id}/edit", {},
                            action=f"/organiser/speakers/{speaker.id}/photo",
                            files={"photo": ("portrait.jpg", b"I am not a picture", "image/jpeg")})
    assert response.status_code == 400
    assert "Upload a JPEG, PNG or WebP image." in response.text
    assert not (settings.media_dir / "speakers").exists() or not any((settings.media_dir / "speakers").iterdir())
    assert (await client.get(f"/speakers/{speaker.id}/photo")).status_code == 404


async def test_uploaded_photo_is_stored_under_a_generated_name_and_served(client, db, organiser, settings):
    speaker = await person(db, "Leila Haddad", creator=organiser)
    await sign_in(client, organiser.email)
    response = await submit(client, f"/organiser/speakers/{speaker.id}/edit", {},
                            action=f"/organiser/speakers/{speaker.id}/photo",
                            files={"photo": ("../../etc/passwd.png", image_bytes("PNG"), "text/plain")})
    assert response.status_code in (302, 303)
    [stored] = list((settings.media_dir / "speakers").iterdir())
    assert stored.name.startswith(f"{speaker.id}-") and stored.suffix == ".jpg" and "passwd" not in stored.name
    served = await client.get(f"/speakers/{speaker.id}/photo")
    assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(served.content)).size == (600, 450)
    event = await conference(db, organiser)
    await talk(db, event, "Photogenic talk", "2030-03-04T10:00", "2030-03-04T10:30", speakers=[speaker])
    assert f"/speakers/{speaker.id}/photo" in (await client.get(f"/speakers/{speaker.id}")).text
    # a new photo replaces the old file
    await submit(client, f"/organiser/speakers/{speaker.id}/edit", {}, action=f"/organiser/speakers/{speaker.id}/photo",
                 files={"photo": ("new.webp", image_bytes("WEBP", (300, 300)), "image/webp")})
    [replacement] = list((settings.media_dir / "speakers").iterdir())
    assert replacement.name != stored.name
