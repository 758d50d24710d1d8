"""The pages' Jinja environment: Flask's, reading a dict's keys before its attributes, and
compiling each template once per language with its fixed words already translated.

Pages draw the API's own JSON shapes (dicts): `{{ batch.count }}` is Jinja's getattr, which tries
the attribute first and reaches the key through an AttributeError, about 1.5 µs each time; a
dashboard reads some fifty, a console list of 50 rows hundreds. A template calling a dict's
method (`.items()`) still finds it, unless the dict has a key of that name.

A page's fixed words (`_('Dashboard')`: a literal, no variables) are the same on every request
in a language, yet each was a call at render time (Jinja's context.call, the catalogue, Markup):
some thirty a console page (bench/ANALYSIS.md). Within a request, templates are loaded through
an overlay of this environment for the request's language, whose compiler puts each such word in
as its translation, so Jinja joins it with the markup around it into one constant. What the words
say is unchanged: the same catalogue, the same autoescaping and %-formatting that
`i18n._formatted` gives them, and `pybabel extract` still reads them from the sources. Words with
variables, plural forms, and templates loaded outside a request (no language) are translated as
they are drawn, as before.

Both hooks are Jinja's internals (`_load_template`, `_parse`): Jinja2 is pinned in
requirements.txt, and tests/test_translations.py fails if either stops being reached.
"""

from __future__ import annotations

from typing import Any

from babel.support import Translations
from flask import Flask, has_request_context
from flask.templating import Environment
from jinja2 import nodes
from jinja2.visitor import NodeTransformer

from .i18n import LANGUAGES, newstyle_formatted, page_language, page_translations

# The names a template translates a fixed word through (i18n.install_page_gettext).
GETTEXT_NAMES = frozenset({"_", "gettext"})
# Jinja's own default: each language's overlay keeps as many compiled templates as Flask's.
CACHE_SIZE = 400


class PageEnvironment(Environment):
    # The catalogue a language's overlay compiles with (see in_language); None on Flask's own.
    translations: Translations | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.overlays: dict[str, PageEnvironment] = {}

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)

    def in_language(self, language: str) -> PageEnvironment:
        """This environment with its templates compiled in `language`, made on a request in it
        (its catalogue is the request's) and kept."""
        found = self.overlays.get(language)
        if found is None:
            found = self.overlay(cache_size=CACHE_SIZE)
            found.translations = page_translations()
            self.overlays[language] = found
        return found

    def _load_template(self, name: str, globals: Any) -> Any:
        if not self.overlayed and has_request_context():
            return self.in_language(page_language())._load_template(name, globals)
        return super()._load_template(name, globals)

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        if self.translations is not None:
            tree = _FixedWords(self.translations).visit(tree)
        return tree


def compile_every_page(app: Flask) -> None:
    """Every template of `app` compiled in every language before the first request, so none is
    compiled on a visitor's time: a gunicorn master does it before forking (gunicorn.conf.py)."""
    for language in LANGUAGES:
        with app.test_request_context(f"/?lang={language}"):
            environment = app.jinja_env.in_language(page_language())
            for name in app.jinja_env.list_templates(filter_func=lambda name: name.endswith(".html")):
                environment.get_template(name)


class _FixedWords(NodeTransformer):
    """`_('literal')` and `gettext('literal')` become their translation, marked safe where the
    template autoescapes, as the call would have returned it."""

    def __init__(self, translations: Translations) -> None:
        self.translations = translations

    def visit_Call(self, node: nodes.Call) -> nodes.Node:
        if (
            isinstance(node.node, nodes.Name)
            and node.node.name in GETTEXT_NAMES
            and len(node.args) == 1
            and isinstance(node.args[0], nodes.Const)
            and isinstance(node.args[0].value, str)
            and not node.kwargs
            and node.dyn_args is None
            and node.dyn_kwargs is None
        ):
            found = newstyle_formatted(self.translations.ugettext(node.args[0].value), {})
            return nodes.MarkSafeIfAutoescape(nodes.Const(found, lineno=node.lineno), lineno=node.lineno)
        return self.generic_visit(node)
