"""The web app investigators, monitors, data managers, designers and administrators use.

``create_app(settings)`` (:mod:`webapp.app`) builds it; ``edc serve`` runs it under gunicorn
(:mod:`webapp.serve`). Settings: :mod:`webapp.settings`. Pages: :mod:`webapp.views`.
"""

from webapp.app import create_app
from webapp.settings import SETTINGS, Settings

__all__ = ["SETTINGS", "Settings", "create_app"]
