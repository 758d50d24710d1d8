"""What the tests share: databases on both engines, one client over both transports, live
gunicorn servers, and the invariants every race is checked against."""
