"""gunicorn's sync worker, answering the requests gunicorn refuses itself (a request line or
headers too long or unparseable) as RFC 9457 problems like every other error of the service.

gunicorn writes these as HTML from Worker.handle_error, with statuses such as 414 and 431
that the contract's table does not have. A worker class is gunicorn's supported way to change
that (`worker_class` in gunicorn.conf.py): this one overrides handle_error for parse errors
and leaves everything else to gunicorn.
"""

from __future__ import annotations

from datetime import datetime

from gunicorn.http import errors as http_errors
from gunicorn.http.wsgi import Response, default_environ
from gunicorn.workers.sync import SyncWorker

from .errors import problem_bytes
from .http.headers import NOSNIFF

# Fixed text: gunicorn's own messages can quote the request line back.
_DETAILS = {
    http_errors.LimitRequestLine: "The request line (method, path and query) is longer than the server accepts.",
    http_errors.LimitRequestHeaders: "The request headers are larger than the server accepts.",
    http_errors.ForbiddenProxyRequest: "This proxy is not allowed to forward requests.",
}
_FORBIDDEN = (http_errors.ForbiddenProxyRequest,)


class ProblemSyncWorker(SyncWorker):
    def handle_error(self, req, client, addr, exc):  # gunicorn's signature
        if not isinstance(exc, http_errors.ParseException):
            return super().handle_error(req, client, addr, exc)
        # The contract has 400 and 403 for a request we cannot take; 414, 431 and the rest
        # of gunicorn's parse refusals are 400 invalid_request with a detail that says which.
        status, code = (403, "forbidden") if isinstance(exc, _FORBIDDEN) else (400, "invalid_request")
        detail = next((d for kind, d in _DETAILS.items() if isinstance(exc, kind)), None)
        body = problem_bytes(status, code, detail or "The request could not be parsed as HTTP.")
        reason = "Forbidden" if status == 403 else "Bad Request"
        self.log.warning("Invalid request from ip=%s: %s", (addr or ("",))[0], type(exc).__name__)
        if req is not None:
            response = Response(req, client, self.cfg)
            response.status = f"{status} {reason}"
            response.response_length = len(body)
            environ = default_environ(req, client, self.cfg)
            self.log.access(response, req, environ, datetime.now() - datetime.now())
        head = (
            f"HTTP/1.1 {status} {reason}\r\n"
            "Connection: close\r\n"
            "Content-Type: application/problem+json\r\n"
            f"{NOSNIFF[0]}: {NOSNIFF[1]}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode("latin-1")
        try:
            client.sendall(head + body)
        except OSError:
            self.log.debug("Failed to send error message.")
