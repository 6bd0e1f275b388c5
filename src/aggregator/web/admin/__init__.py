"""The pages of repository managers and the network's coordinator, under ``/admin``.

Every module of this package adds its views to :data:`~aggregator.web.admin.access.bp`,
whose guard sends anonymous visitors to ``/login`` before any view runs, so no admin
URL can be left open by forgetting a decorator. Views read and write the store only
through ``aggregator.store``.
"""

from __future__ import annotations

import importlib
import pkgutil

from flask import Flask

from aggregator.web.admin.access import bp

__all__ = ["init_app"]


def init_app(app: Flask) -> None:
    """Import every view module of the package, then mount the blueprint."""
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")
    app.register_blueprint(bp)
