"""Both languages, whole: every string of the pages is in the Hindi catalogue, the compiled
catalogue is the one the .po says, and a Hindi page has no English left in it."""

from __future__ import annotations

import re
import subprocess
import sys
import types
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from rewards.web.templating import compile_every_page

from .support.client import ADMIN_KEY, Api, TestClientTransport, bearer
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


# The operator's console -----------------------------------------------------------------------

VIEWER_KEY = "v" * 32
ROLES = {"ADMIN_API_KEYS": f"vera:{VIEWER_KEY}", "OPERATOR_ROLES": "vera:viewer"}
_BODY = re.compile(r"<body[^>]*>(.*)</body>", re.S)
_TAG = re.compile(r"<[^>]+>")
# The language switch names English in English, marked so (lang="en"): a reader's way back.
_MARKED_ENGLISH = re.compile(r'<(a|span)\b[^>]*\blang="en"[^>]*>[^<]*</\1>')


def body_text(html: str) -> str:
    """What a reader sees of the whole page, its header (navigation, operator, language switch)
    included: the console's header holds most of its words."""
    found = _BODY.search(html)
    body = _MARKED_ENGLISH.sub(" ", found.group(1) if found else html)
    return " ".join(_TAG.sub(" ", body).split())


def console_state(app) -> dict:
    """A console with something on every page: batches (one voided, one with a redeemed coupon),
    a void coupon, a customer with a scan, an adjustment and payouts, one decided."""
    admin = {"X-API-Key": ADMIN_KEY}
    api = Api(TestClientTransport(app.test_client()))
    made = api.call(
        "POST",
        "/coupons/generate",
        {"count": 3, "points": 7, "label": "दिवाली", "expires_at": "2099-01-01T00:00:00Z"},
        admin,
    ).body
    tokens = [c["token"] for c in made["coupons"]]
    gone = api.call("POST", "/coupons/generate", {"count": 2, "points": 5}, admin).body["batch"]["id"]
    assert api.call("POST", f"/batches/{gone}/void", {"reason": "छपाई ग़लत"}, admin).status == 200
    assert api.call("POST", f"/coupons/{tokens[1]}/void", {"reason": "फटा हुआ"}, admin).status == 200
    login = api.login()
    assert api.scan(login.access_token, tokens[0]).status == 200
    user_id = login.user["id"]
    given = api.call("POST", f"/users/{user_id}/adjustments", {"points": 100, "reason": "स्वागत"}, admin)
    assert given.status == 201
    ids = []
    for points in (10, 20):
        asked = api.call("POST", "/users/me/payouts", {"points": points}, bearer(login.access_token))
        ids.append(asked.body["payout"]["id"])
    assert api.call("POST", f"/payouts/{ids[0]}/approve", {"reference": "९८७६"}, admin).status == 200
    return {"batch": made["batch"]["id"], "tokens": tokens, "user": user_id, "phone": login.user["phone"]}


def console_pages(visitor: Visitor, state: dict) -> dict:
    pages = {"sign-in": visitor.get("/console/sign-in")}
    pages["wrong key"] = visitor.post("/console/sign-in", {"key": "wrong"})
    visitor.post("/console/sign-in", {"key": ADMIN_KEY})
    batch, user = state["batch"], state["user"]
    pages["dashboard"] = visitor.get("/console")
    pages["batches"] = visitor.get("/console/batches")
    form = re.search(r'name="request_id" value="([^"]+)"', pages["batches"].get_data(as_text=True)).group(1)
    pages["a batch refused"] = visitor.post("/console/batches", {"count": "0", "request_id": form})
    pages["a batch"] = visitor.get(f"/console/batches/{batch}")
    pages["a void batch"] = visitor.get(f"/console/batches/{batch + 1}")
    pages["void confirmation"] = visitor.post(f"/console/batches/{batch}/void", {"reason": "चोरी"})
    pages["coupons"] = visitor.get("/console/coupons")
    pages["a redeemed coupon"] = visitor.get(f"/console/coupons/{state['tokens'][0]}")
    pages["a void coupon"] = visitor.get(f"/console/coupons/{state['tokens'][1]}")
    pages["an active coupon"] = visitor.get(f"/console/coupons/{state['tokens'][2]}")
    pages["customers"] = visitor.get("/console/users")
    pages["customers found"] = visitor.get(f"/console/users?phone={state['phone'][-4:]}")
    pages["a customer"] = visitor.get(f"/console/users/{user}")
    pages["payouts"] = visitor.get("/console/payouts")
    pages["audit"] = visitor.get("/console/audit")
    pages["not found"] = visitor.get("/console/nowhere")
    pages["no such batch"] = visitor.get("/console/batches/99999")
    visitor.post("/console/sign-out", {})
    visitor.post("/console/sign-in", {"key": VIEWER_KEY})
    pages["not allowed"] = visitor.get(f"/console/batches/{batch}/coupons.csv")
    return pages


@pytest.mark.parametrize("chosen_by", ["query", "accept-language"])
def test_a_hindi_operator_sees_no_english_on_any_console_page(make_app, chosen_by):
    app = make_app(PROGRAMME_NAME="मिस्त्री इनाम", **ROLES)
    state = console_state(app)
    visitor = Visitor(app.test_client())
    if chosen_by == "query":
        visitor.get("/console/sign-in?lang=hi")  # remembered in the cookie for every later page
    else:
        visitor.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "hi-IN,hi;q=0.9,en;q=0.5"
    pages = console_pages(visitor, state)
    assert pages["not allowed"].status_code == 403 and pages["not found"].status_code == 404
    assert pages["no such batch"].status_code == 404 and pages["wrong key"].status_code == 401
    assert pages["a batch refused"].status_code == 400
    # Data stays as it was written: the customer's phone, the coupons' tokens (and their first
    # eight characters), the operators' names (the audit filter's hint names two, admin and cli).
    data = [state["phone"], *state["tokens"], *(token[:8] for token in state["tokens"]), "admin", "vera", "cli"]
    for name, response in pages.items():
        html = response.get_data(as_text=True)
        assert '<html lang="hi">' in html, name
        text = body_text(html)
        for value in data:
            text = text.replace(value, "")
        # The audit log's targets and details are shown as logged (batch:1, count: 3).
        if name == "audit":
            text = re.sub(r"\b[a-z_]+:\S*", "", text)
        assert ENGLISH_WORD.findall(text) == [], name


def test_the_console_has_the_language_switch_and_keeps_its_english_labels_when_english_is_chosen(make_app):
    app = make_app(**ROLES)
    state = console_state(app)
    visitor = Visitor(app.test_client())
    visitor.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "hi"
    sign_in = visitor.get("/console/sign-in?next=x").get_data(as_text=True)
    assert '<html lang="hi">' in sign_in and '<nav class="languages"' in sign_in
    assert 'href="/console/sign-in?next=x&amp;lang=en" lang="en" hreflang="en">English</a>' in sign_in
    visitor.get("/console/sign-in?lang=en")  # the choice outweighs the browser's language, and is kept
    pages = console_pages(visitor, state)
    dashboard = pages["dashboard"].get_data(as_text=True)
    assert '<html lang="en">' in dashboard and ">Dashboard</a>" in dashboard and "admin (admin)" in dashboard
    assert '<span aria-current="true" lang="en">English</span>' in dashboard
    assert "Status redeemed" in body_text(pages["a redeemed coupon"].get_data(as_text=True))
    audit = pages["audit"].get_data(as_text=True)
    assert "<td>batch.create</td>" in audit and re.search(r'<option value="payout.approve"\s*>payout.approve<', audit)


def test_a_language_chosen_on_the_customer_pages_holds_on_the_console_and_back(app):
    visitor = Visitor(app.test_client())
    visitor.get("/?lang=hi")
    assert '<html lang="hi">' in visitor.get("/console/sign-in").get_data(as_text=True)
    visitor.get("/console/sign-in?lang=en")  # chosen on the console, it holds on the customer's pages
    assert '<html lang="en">' in visitor.get("/", headers={"Accept-Language": "hi"}).get_data(as_text=True)


def test_a_template_is_compiled_in_each_language_with_its_fixed_words_translated(app):
    """rewards/web/templating.py: a fixed word (`_('Operator key')`) is put in as its translation
    when a template is compiled for a language; drawn in turn, each language keeps its own."""
    visitor = Visitor(app.test_client())
    for language, word, other in [("hi", "संचालक कुंजी", "Operator key"), ("en", "Operator key", "संचालक कुंजी")] * 2:
        html = visitor.get(f"/console/sign-in?lang={language}").get_data(as_text=True)
        assert f'<html lang="{language}">' in html and word in html and other not in html
    hindi = app.jinja_env.in_language("hi").get_template("console/sign_in.html")
    written = list(_literals(hindi.root_render_func.__code__, *(block.__code__ for block in hindi.blocks.values())))
    assert any("संचालक कुंजी" in literal for literal in written)
    assert not any("Operator key" in literal for literal in written)


def test_every_page_is_compiled_in_both_languages_before_a_first_request(app):
    # What a gunicorn master does before forking its workers (gunicorn.conf.py).
    compile_every_page(app)
    for language in ("en", "hi"):
        compiled = {name for _, name in app.jinja_env.in_language(language).cache.keys()}
        assert {"base.html", "pages/coupon.html", "console/base.html", "console/dashboard.html"} <= compiled


def _literals(*codes: types.CodeType):
    """Every string constant of compiled code, its nested functions' included."""
    for code in codes:
        for constant in code.co_consts:
            if isinstance(constant, str):
                yield constant
            elif isinstance(constant, types.CodeType):
                yield from _literals(constant)


def test_a_batch_page_writes_its_times_in_words_not_rfc_3339(make_app):
    app = make_app()
    made = Api(TestClientTransport(app.test_client())).call(
        "POST", "/coupons/generate", {"count": 1, "expires_at": "2099-01-02T00:00:00Z"}, {"X-API-Key": ADMIN_KEY}
    )
    visitor = Visitor(app.test_client())
    visitor.get("/console/sign-in")
    visitor.post("/console/sign-in", {"key": ADMIN_KEY})
    page = body_text(visitor.get(f"/console/batches/{made.body['batch']['id']}").get_data(as_text=True))
    assert "2 January 2099, 00:00 UTC" in page
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", page)
    hindi = body_text(visitor.get(f"/console/batches/{made.body['batch']['id']}?lang=hi").get_data(as_text=True))
    assert "2 जनवरी 2099, 00:00 यूटीसी" in hindi


@pytest.mark.parametrize("language", ["en", "hi"])
def test_numbers_are_written_as_babel_writes_them_in_each_language(make_app, language):
    # formatting.number() groups digits itself (format_decimal costs a dashboard dearly): it must
    # say exactly what Babel says, the Indian grouping in Hindi included.
    from babel.numbers import format_decimal

    from rewards.web.formatting import number

    values = [0, 7, -7, 999, 1000, -1000, 12_345, 123_456, 1_234_567, -98_765_432, 10**12, 2**63 - 1]
    with make_app().test_request_context(f"/me?lang={language}"):
        assert [number(v) for v in values] == [format_decimal(v, locale=language) for v in values]
