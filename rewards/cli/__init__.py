"""Operator commands: `flask --app app init-db | gen-coupons | void-batch | print-batch | backup`."""

from __future__ import annotations

from flask import Flask

from .coupons import gen_coupons_command, void_batch_command
from .database import backup_command, init_db_command
from .printing import print_batch_command


def register_commands(app: Flask) -> None:
    for command in (init_db_command, gen_coupons_command, void_batch_command, print_batch_command, backup_command):
        app.cli.add_command(command)
