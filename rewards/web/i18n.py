"""The pages' language: English or Hindi.

`?lang=hi` or `?lang=en` chooses and is remembered in a cookie; otherwise the browser's
Accept-Language decides; English when neither does. One selector for Flask-Babel, so every
string, date and number of a page follows the same choice.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

from babel import Locale
from babel.support import Translations
from flask import Flask, Response, has_request_context, request
from flask_babel import get_locale, get_translations
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

LANGUAGES = ("en", "hi")
DEFAULT = "en"
COOKIE = "lang"
COOKIE_AGE = 365 * 86_400
# What each language calls itself, for the switch on every page.
NAMES = {"en": "English", "hi": "हिन्दी"}
# Parsed once: Flask-Babel takes a Locale as it is, where a code would be parsed (and its data
# file looked for on disk) on every request.
LOCALES = {code: Locale.parse(code) for code in LANGUAGES}


def chosen_in_query() -> str | None:
    if b"lang=" not in request.query_string:
        return None  # most pages: no need to parse the query
    value = request.args.get("lang")
    return value if value in LANGUAGES else None


def select_locale() -> Locale:
    remembered = request.cookies.get(COOKIE)
    code = (
        chosen_in_query()
        or (remembered if remembered in LANGUAGES else None)
        or _best_match(request.headers.get("Accept-Language", ""))
        or DEFAULT
    )
    return LOCALES[code]


@lru_cache(maxsize=512)
def _best_match(header: str) -> str | None:
    # Browsers send a handful of distinct headers; parsing and matching each again on every
    # page cost more than the page's own query.
    return parse_accept_header(header, LanguageAccept).best_match(LANGUAGES)


def page_language() -> str:
    """The request's language code, found once (see page_translations)."""
    if not has_request_context():
        return str(get_locale() or DEFAULT)
    found = request.environ.get("rewards.language")
    if found is None:
        found = request.environ["rewards.language"] = str(get_locale() or DEFAULT)
    return found


def page_translations() -> Translations:
    """The request's catalogue, found once: Flask-Babel looks it up again (through several
    context lookups) for every string, and a page has dozens."""
    if not has_request_context():
        return get_translations()
    found = request.environ.get("rewards.translations")
    if found is None:
        found = request.environ["rewards.translations"] = get_translations()
    return found


def install_page_gettext(app: Flask) -> None:
    """Templates translate through the request's catalogue, with the meaning Jinja's "newstyle"
    gettext gives `_()`, `gettext()` and `ngettext()` (autoescaped, %-formatted with their keyword
    arguments), called directly: Jinja's own wrappers reach the catalogue through three nested
    context calls for every string. Each render is handed the three bound to the request's
    catalogue (a dashboard translates dozens of strings); the globals serve what a render's
    context does not reach (macros imported without it)."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: page_translations().ugettext(s),
        ngettext=lambda s, p, n: page_translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: page_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: page_translations().unpgettext(c, s, p, n),
    )
    app.jinja_env.globals.update(_=_page_gettext, gettext=_page_gettext, ngettext=_page_ngettext)
    app.context_processor(bound_to_request)


@pass_context
def _page_gettext(context: Context, string: str, /, **variables: Any) -> str:
    return _formatted(context, page_translations().ugettext(string), variables)


@pass_context
def _page_ngettext(context: Context, singular: str, plural: str, num: int, /, **variables: Any) -> str:
    variables.setdefault("num", num)
    return _formatted(context, page_translations().ungettext(singular, plural, num), variables)


def bound_to_request() -> dict[str, Any]:
    """What every render is handed: the request's language, and gettext bound to its catalogue."""
    translated, translated_plural = (catalogue := page_translations()).ugettext, catalogue.ungettext

    @pass_context
    def gettext(context: Context, string: str, /, **variables: Any) -> str:
        return _formatted(context, translated(string), variables)

    @pass_context
    def ngettext(context: Context, singular: str, plural: str, num: int, /, **variables: Any) -> str:
        variables.setdefault("num", num)
        return _formatted(context, translated_plural(singular, plural, num), variables)

    return {"_": gettext, "gettext": gettext, "ngettext": ngettext, "page_language": page_language()}


def _formatted(context: Context, found: str, variables: dict[str, Any]) -> str:
    return newstyle_formatted(Markup(found) if context.eval_ctx.autoescape else found, variables)


def newstyle_formatted(found: str, variables: dict[str, Any]) -> str:
    # Newstyle gettext always %-formats ("100%%" is "100%"); a string with no % is itself.
    return found % variables if variables or "%" in found else found


def switched_to(language: str) -> str:
    """This page's address in `language`: its path and every query parameter kept (a sign-in's
    `next`, a list's `before`), `lang` set."""
    if not request.query_string:
        return f"{request.path}?lang={language}"
    query = [(name, value) for name, value in request.args.items(multi=True) if name != "lang"]
    return f"{request.path}?{urlencode([*query, ('lang', language)])}"


def remember_choice(response: Response) -> Response:
    """Keep a language chosen with ?lang= for the next pages."""
    chosen = chosen_in_query()
    if chosen and request.cookies.get(COOKIE) != chosen:
        from .sessions import secure_cookies

        response.set_cookie(
            COOKIE, chosen, max_age=COOKIE_AGE, path="/", httponly=True, samesite="Lax", secure=secure_cookies()
        )
    return response
