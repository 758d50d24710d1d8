"""A batch's printable A4 sheet, over HTTP and from the shell: rendered page by page with
PDFium and every QR code on it read back with a real decoder."""

from __future__ import annotations

import pytest
import zxingcpp

from rewards.coupons.sheet import PER_PAGE, SCAN_LINE

from .support.client import ADMIN_KEY, Api, HttpTransport, TestClientTransport, assert_problem
from .support.sheets import (
    QR_ONLY,
    modules_of,
    page_images,
    page_texts,
    pdffonts,
    quiet_zone_marks,
    read_sheet,
    square_box,
)

ADMIN = {"X-API-Key": ADMIN_KEY}
TEMPLATES = ["{token}", "https://shop.example/s/{token}?src=sheet"]


def batch_of(db) -> int:
    return db.scalar("SELECT max(id) FROM batches")


@pytest.mark.parametrize("template", TEMPLATES)
def test_a_batch_sheet_reads_back_as_its_coupons_but_the_void(make_app, db, template):
    api = Api(TestClientTransport(make_app(COUPON_URL_TEMPLATE=template).test_client()))
    access_token, _ = api.login()
    coupons = api.generate(30, points=25, expires_at="2099-01-01T00:00:00Z")  # two pages
    void, redeemed = coupons[3], coupons[7]
    assert api.call("POST", f"/coupons/{void}/void", {"reason": "torn"}, ADMIN).status == 200
    assert api.scan(access_token, redeemed).status == 200

    reply = api.call("GET", f"/batches/{batch_of(db)}/sheet.pdf", headers=ADMIN)
    assert reply.status == 200 and reply.mimetype == "application/pdf"
    codes, text, pages = read_sheet(reply.data)
    printed = [c for c in coupons if c != void]
    assert sorted(codes) == sorted(template.replace("{token}", c) for c in printed)
    assert pages == 2
    for coupon in printed:
        assert coupon[:8] in text
    assert void[:8] not in text
    assert text.count("25 points") == 29 and text.count("expires 2099-01-01 00:00 UTC") == 29


def test_a_sheet_of_coupons_without_expiry_says_so(api, db):
    api.generate(1, points=1)
    _, text, pages = read_sheet(api.call("GET", f"/batches/{batch_of(db)}/sheet.pdf", headers=ADMIN).data)
    assert pages == 1 and "1 point\r\n" in text and "no expiry" in text


def test_a_sheet_of_a_batch_with_every_coupon_void_is_one_page_saying_so(api, db):
    api.generate(3)
    batch_id = batch_of(db)
    assert api.call("POST", f"/batches/{batch_id}/void", {"reason": "leaked"}, ADMIN).status == 200
    codes, text, pages = read_sheet(api.call("GET", f"/batches/{batch_id}/sheet.pdf", headers=ADMIN).data)
    assert codes == [] and pages == 1 and "Every coupon of this batch is void." in text


def test_a_sheet_over_ten_thousand_coupons_is_refused_naming_print_batch(api, runner, db, tmp_path):
    made = runner.invoke(args=["gen-coupons", "--count", "10001", "--output", str(tmp_path / "c.csv")])
    assert made.exit_code == 0, made.output
    problem = assert_problem(
        api.call("GET", f"/batches/{batch_of(db)}/sheet.pdf", headers=ADMIN), 400, "invalid_request"
    )
    assert "10,001" in problem["detail"] and "print-batch" in problem["detail"]


@pytest.mark.parametrize("template", TEMPLATES)
def test_print_batch_writes_the_sheet_from_the_shell(make_app, db, tmp_path, template):
    app = make_app(COUPON_URL_TEMPLATE=template)
    api = Api(TestClientTransport(app.test_client()))
    coupons = api.generate(26)
    api.call("POST", f"/coupons/{coupons[0]}/void", {"reason": "torn"}, ADMIN)
    folder = tmp_path / "prints"
    folder.mkdir()
    output = folder / "sheet.pdf"
    output.write_bytes(b"an earlier sheet")  # replaced, as any output file is

    result = app.test_cli_runner().invoke(args=["print-batch", str(batch_of(db)), "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert "25 coupons on 2 pages" in result.output
    codes, _, pages = read_sheet(output.read_bytes())
    assert sorted(codes) == sorted(template.replace("{token}", c) for c in coupons[1:]) and pages == 2
    assert [p.name for p in folder.iterdir()] == ["sheet.pdf"]  # no part file left behind
    assert output.stat().st_mode & 0o777 == 0o600  # its live tokens are for its owner only


def test_print_batch_refuses_what_it_cannot_print_with_exit_2(api, runner, db, tmp_path):
    api.generate(1)
    output = tmp_path / "sheet.pdf"
    missing = runner.invoke(args=["print-batch", "999999", "--output", str(output)])
    assert missing.exit_code == 2 and "no batch has the id 999999" in missing.output
    no_folder = runner.invoke(args=["print-batch", str(batch_of(db)), "--output", str(tmp_path / "no" / "s.pdf")])
    assert no_folder.exit_code == 2 and "does not exist" in no_folder.output
    bad_id = runner.invoke(args=["print-batch", "0", "--output", str(output)])
    assert bad_id.exit_code == 2
    too_big = runner.invoke(args=["gen-coupons", "--count", "100001", "--output", str(tmp_path / "c.csv")])
    assert too_big.exit_code == 0, too_big.output
    refused = runner.invoke(args=["print-batch", str(batch_of(db)), "--output", str(output)])
    assert refused.exit_code == 2 and "100,001 coupons" in refused.output and "coupons.csv" in refused.output
    assert not output.exists()


def test_a_live_server_streams_a_sheet(gunicorn, db):
    server = gunicorn(workers=2, COUPON_URL_TEMPLATE="https://shop.example/s/{token}")
    api = Api(HttpTransport(server.url))
    coupons = api.generate(24)
    reply = api.call("GET", f"/batches/{batch_of(db)}/sheet.pdf", headers=ADMIN)
    assert reply.status == 200 and reply.headers["Content-Type"] == "application/pdf"
    assert 'filename="batch-' in reply.headers["Content-Disposition"]
    codes, _, pages = read_sheet(reply.data)
    assert sorted(codes) == sorted(f"https://shop.example/s/{c}" for c in coupons) and pages == 1
    assert_problem(api.call("GET", "/batches/999999/sheet.pdf", headers=ADMIN), 404, "batch_not_found")


NAME = "Café Ünïcode Rewards"


def sheet_of(make_app, db, count: int, **settings) -> bytes:
    api = Api(TestClientTransport(make_app(**settings).test_client()))
    api.generate(count, points=25, expires_at="2099-01-01T00:00:00Z")
    reply = api.call("GET", f"/batches/{batch_of(db)}/sheet.pdf", headers=ADMIN)
    assert reply.status == 200
    return reply.data


def test_every_font_of_a_sheet_is_embedded_as_pdffonts_reports(make_app, db, tmp_path):
    path = tmp_path / "sheet.pdf"
    path.write_bytes(sheet_of(make_app, db, 3, PROGRAMME_NAME=NAME))
    fonts = pdffonts(str(path))
    assert fonts, "the sheet names no font"
    for row in fonts:
        # name, type (two words), encoding, emb, sub, uni, object, generation
        assert row[-5] == "yes", f"font {row[0]} is not embedded"
        assert row[-3] == "yes", f"font {row[0]} has no ToUnicode map"


@pytest.mark.parametrize("template", TEMPLATES)
def test_every_code_reads_alone_in_its_square_with_a_blank_quiet_zone(make_app, db, template):
    coupons = 26  # a full page and two codes on the next
    data = sheet_of(make_app, db, coupons, COUPON_URL_TEMPLATE=template, PROGRAMME_NAME=NAME)
    scale = 4  # 288 dpi: a print shop's proof
    read = []
    for number, page in enumerate(page_images(data, scale)):
        on_page = min(PER_PAGE, coupons - number * PER_PAGE)
        for slot in range(on_page):
            square = page.crop(square_box(slot, scale))
            codes = [result.text for result in zxingcpp.read_barcodes(square, formats=QR_ONLY)]
            assert len(codes) == 1, f"page {number + 1}, slot {slot}: {codes}"
            read += codes
            marks = quiet_zone_marks(square, modules_of(codes[0]))
            assert not marks, f"page {number + 1}, slot {slot}: {len(marks)} marked pixels in the quiet zone"
    whole, _, _ = read_sheet(data)
    assert sorted(read) == sorted(whole) and len(set(read)) == coupons


def test_the_programme_name_and_the_scan_line_are_on_every_page(make_app, db):
    pages = page_texts(sheet_of(make_app, db, 50, PROGRAMME_NAME=NAME))  # three pages
    assert len(pages) == 3
    for text in pages:
        assert NAME in text and SCAN_LINE in text


def test_a_name_the_font_cannot_print_is_printed_with_question_marks_and_print_batch_says_so(make_app, db, tmp_path):
    # Devanagari: DejaVu Sans lacks it, and it needs a shaping engine the sheet does not have.
    app = make_app(PROGRAMME_NAME="इनाम Club")
    Api(TestClientTransport(app.test_client())).generate(2)
    output = tmp_path / "sheet.pdf"
    result = app.test_cli_runner().invoke(args=["print-batch", str(batch_of(db)), "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert "PROGRAMME_NAME has characters the sheet's font cannot print (इनाम)" in result.output
    (text,) = page_texts(output.read_bytes())
    assert "???? Club" in text and SCAN_LINE in text
