"""Users, roles and passwords: the engine side of authentication and access control."""

from engine.lazy import attach_stub

__getattr__, __dir__, __all__ = attach_stub(__name__, __file__)
