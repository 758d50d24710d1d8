"""Getting a one-time code to its phone: the server log, or an SMS gateway's webhook."""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Callable

from ..exceptions import OtpDeliveryFailed

log = logging.getLogger(__name__)


def log_delivery(phone: str, code: str) -> None:
    # The one place a secret is logged, and only because OTP_DELIVERY says so.
    log.info("one-time code for %s: %s", phone, code)


def webhook_delivery(url: str, timeout_seconds: float) -> Callable[[str, str], None]:
    def deliver(phone: str, code: str) -> None:
        request = urllib.request.Request(
            url,
            data=json.dumps({"phone": phone, "code": code}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout_seconds) as response:
                response.read(65536)
        except urllib.error.HTTPError as error:
            log.warning("OTP webhook answered HTTP %s for %s", error.code, phone)
            raise OtpDeliveryFailed("The SMS gateway refused the code; try again shortly.") from None
        except (OSError, ValueError) as error:  # refused, unreachable, timed out, bad reply
            log.warning("OTP webhook failed for %s: %s", phone, type(error).__name__)
            raise OtpDeliveryFailed("The SMS gateway could not be reached; try again shortly.") from None

    return deliver
