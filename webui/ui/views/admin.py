"""SCAFFOLD (replaced by the dead letters, pools, audit, users and roles pages work)."""

from __future__ import annotations

from webui.ui.blueprint import bp


@bp.route("/dead-letters")
def dead_letters() -> str:
    return "dead letters"


@bp.route("/pools")
def pools() -> str:
    return "pools"


@bp.route("/audit")
def audit() -> str:
    return "audit"


@bp.route("/users")
def users() -> str:
    return "users"


@bp.route("/roles")
def roles() -> str:
    return "roles"
