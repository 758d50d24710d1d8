"""JSON answers encoded by orjson, byte for byte what Flask's own provider sends.

Flask's json.dumps was a wallet read's largest single cost after the database (21 µs of a
10-entry page; orjson 2 µs; issue #17). Every answer orjson would write differently goes
to Flask's provider instead, so no client sees a change:

- text outside ASCII, and DEL: Flask escapes them (\\u00e9, \\u007f), orjson writes them
  as they are;
- what orjson refuses: integers beyond 64 bits, keys that are not strings, lone surrogates,
  tuples' subclasses (named tuples, rows), which Flask writes as lists;
- dates, datetimes and dataclasses go to Flask's own `default` (its HTTP dates), as before;
- debug's indented answers.

The service's answers hold no floats; orjson would write a small one's exponent in one digit
(1e-7 where Python writes 1e-07), the same number. tests/test_json_answers.py holds the bytes
of every kind of answer to Flask's.
"""

from __future__ import annotations

from typing import Any

import orjson
from flask import Response
from flask.json.provider import DefaultJSONProvider

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS


class JsonAnswers(DefaultJSONProvider):
    # Keys in the order the contract lists them, not alphabetical.
    sort_keys = False

    def response(self, *args: Any, **kwargs: Any) -> Response:
        if self.compact is False or (self.compact is None and self._app.debug):
            return super().response(*args, **kwargs)
        obj = self._prepare_response_obj(args, kwargs)
        try:
            data = orjson.dumps(obj, default=self.default, option=_OPTIONS)
        except TypeError:  # orjson.JSONEncodeError is one
            return super().response(obj)
        if not data.isascii() or b"\x7f" in data:
            return super().response(obj)
        return self._app.response_class(data + b"\n", mimetype=self.mimetype)
