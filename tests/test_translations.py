"""Both languages, whole: every string of the pages is in the Hindi catalogue, the compiled
catalogue is the one the .po says, and a Hindi page has no English left in it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from .support.client import ADMIN_KEY
from .support.pages import Visitor, visible_text

ROOT = Path(__file__).resolve().parents[1]
CATALOGUE = ROOT / "rewards" / "translations" / "hi" / "LC_MESSAGES"
PYBABEL = [sys.executable, "-m", "babel.messages.frontend"]
# Latin letters that may stand on a Hindi page: none but what the customer typed or the
# programme is called. A word of three or more Latin letters is English left behind.
ENGLISH_WORD = re.compile(r"\b[A-Za-z]{3,}\b")


def _key(value):
    return tuple(value) if isinstance(value, (list, tuple)) else value


def read_catalogue():
    with (CATALOGUE / "messages.po").open("rb") as po:
        return read_po(po, locale="hi")


def test_every_string_of_the_pages_is_translated_into_hindi(tmp_path):
    template = tmp_path / "messages.pot"
    subprocess.run(
        [*PYBABEL, "extract", "-F", "babel.cfg", "-k", "lazy_gettext", "-o", str(template), "."],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with template.open("rb") as pot:
        wanted = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(pot) if m.id}
    catalogue = read_catalogue()
    have = {m.id if isinstance(m.id, str) else m.id[0]: m for m in catalogue if m.id}
    assert wanted - have.keys() == set(), "run `make translations` and translate the new strings"
    untranslated = [
        key for key in wanted if not all(_key(have[key].string) if have[key].pluralizable else [have[key].string])
    ]
    fuzzy = [key for key in wanted if have[key].fuzzy]
    assert untranslated == [] and fuzzy == []


def test_the_compiled_catalogue_is_the_one_the_po_file_says():
    def as_dict(catalogue) -> dict:
        return {_key(m.id): _key(m.string) for m in catalogue if m.id}

    with (CATALOGUE / "messages.mo").open("rb") as mo:
        compiled = as_dict(read_mo(mo))
    written = as_dict(read_catalogue())
    assert compiled == written, "run `make translations` (pybabel compile) and commit messages.mo"


@pytest.fixture
def hindi(make_app):
    app = make_app(PROGRAMME_NAME="मिस्त्री इनाम")
    visitor = Visitor(app.test_client())
    visitor.get("/?lang=hi")
    return app, visitor


def english_left(html: str, *allowed: str) -> list[str]:
    text = visible_text(html)
    for word in allowed:
        text = text.replace(word, "")
    return ENGLISH_WORD.findall(text)


def test_a_hindi_customer_sees_no_english_on_any_page(hindi, db):
    app, visitor = hindi
    admin = {"X-API-Key": ADMIN_KEY}
    operator = app.test_client()
    tokens = [
        c["token"]
        for c in operator.post(
            "/coupons/generate", json={"count": 4, "expires_at": "2099-01-01T00:00:00Z"}, headers=admin
        ).json["coupons"]
    ]
    pages = {"home": visitor.get("/"), "sign-in": visitor.get("/sign-in?next=/me")}
    pages["unknown coupon"] = visitor.get("/c/0b7f5d0e-8b7a-4c1e-9a0e-6f7c2f0d1a11")
    pages["coupon, signed out"] = visitor.get(f"/c/{tokens[0]}")
    sent = visitor.post("/sign-in", {"phone": "+919876500010", "next": "/me"})
    pages["code"] = visitor.get(sent.headers["Location"])
    pages["wrong code"] = visitor.post("/sign-in/code", {"code": "12345x", "next": "/me"})
    pages["bad phone"] = visitor.post("/sign-in", {"phone": "12"})
    visitor.sign_in("+919876500010")
    pages["coupon, active"] = visitor.get(f"/c/{tokens[0]}")
    visitor.post(f"/c/{tokens[0]}")
    pages["coupon, mine"] = visitor.get(f"/c/{tokens[0]}")
    operator.post(f"/coupons/{tokens[1]}/void", json={"reason": "leaked"}, headers=admin)
    pages["coupon, void"] = visitor.post(f"/c/{tokens[1]}")
    db.execute("UPDATE batches SET expires_at = 1000")
    pages["coupon, expired"] = visitor.post(f"/c/{tokens[2]}")
    visitor.post(
        "/me/payouts",
        {
            "points": "5",
            "request_id": re.search(
                r'name="request_id" value="([^"]+)"', visitor.get("/me/payouts").get_data(as_text=True)
            ).group(1),
        },
    )
    payout = db.scalar("SELECT id FROM payouts")
    operator.post(f"/payouts/{payout}/reject", json={"reason": "गलत खाता"}, headers=admin)
    pages["payouts"] = visitor.get("/me/payouts")
    pages["payout refused"] = visitor.post("/me/payouts", {"points": "99999", "request_id": "abcdefgh-1234"})
    pages["wallet"] = visitor.get("/me")
    pages["scan"] = visitor.get("/me/scan")
    pages["scan, bad code"] = visitor.post("/me/scan", {"code": "nothing"})
    pages["not found"] = visitor.get("/me/nowhere")
    for name, response in pages.items():
        html = response.get_data(as_text=True)
        assert '<html lang="hi">' in html, name
        assert english_left(html, "+919876500010") == [], name
