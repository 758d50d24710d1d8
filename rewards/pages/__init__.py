"""The customer's pages: a coupon's page (what its QR code opens), signing in with a code sent by
SMS, the wallet, scanning and payouts. HTML over the same services as the JSON API."""
