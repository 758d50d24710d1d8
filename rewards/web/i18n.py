"""The pages' language: English or Hindi.

`?lang=hi` or `?lang=en` chooses and is remembered in a cookie; otherwise the browser's
Accept-Language decides; English when neither does. One selector for Flask-Babel, so every
string, date and number of a page follows the same choice.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Response, request

LANGUAGES = ("en", "hi")
DEFAULT = "en"
COOKIE = "lang"
COOKIE_AGE = 365 * 86_400
CONSOLE = "/console"
# What each language calls itself, for the switch on every page.
NAMES = {"en": "English", "hi": "हिन्दी"}


def chosen_in_query() -> str | None:
    value = request.args.get("lang")
    return value if value in LANGUAGES else None


def select_locale() -> str:
    # The operator's console is English for now: its strings are not in the Hindi catalogue.
    if request.path.startswith(CONSOLE):
        return DEFAULT
    remembered = request.cookies.get(COOKIE)
    return (
        chosen_in_query()
        or (remembered if remembered in LANGUAGES else None)
        or request.accept_languages.best_match(LANGUAGES)
        or DEFAULT
    )


def switched_to(language: str) -> str:
    """This page's address in `language`: its path and every query parameter kept (a sign-in's
    `next`, a list's `before`), `lang` set."""
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
