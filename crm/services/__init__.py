"""Writes and use cases of the core: keyword-only, atomic, audited, events after commit."""

from .candidates import *  # noqa: F403
from .errors import ServiceError  # noqa: F401
from .organizations import *  # noqa: F403
from .pipeline import *  # noqa: F403
from .reasons import *  # noqa: F403
from .suppression import *  # noqa: F403
