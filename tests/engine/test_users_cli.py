"""``loom users`` and the user functions under it, on a migrated SQLite database."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner, Result

from engine.cli import users_cmd
from engine.cli.main import cli
from engine.errors import InvalidInputError
from engine.models.session import create_db_engine, make_session_factory
from engine.security.admins import LAST_ADMIN
from engine.security.passwords import verify_password
from engine.security.users import create_user, get_user

cli.add_command(users_cmd.group)


@pytest.fixture
def url(seeded_sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("LOOM__DATABASE__URL", seeded_sqlite_url)
    return seeded_sqlite_url


def invoke(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, ["users", *args], input=stdin)


def create(username: str, *roles: str, password: str = "s3cret-pass") -> Result:
    role_args = [arg for role in roles for arg in ("--role", role)]
    return invoke("create", "--username", username, *role_args, "--password-stdin", stdin=password)


def test_create_with_password_from_stdin(url: str) -> None:
    result = invoke(
        "create", "--username", "ada", "--role", "Op", "--role", "Viewer",
        "--email", "ada@example.com", "--password-stdin", stdin="s3cret-pass\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "created user ada (Op, Viewer)"

    db = create_db_engine(url)
    with make_session_factory(db)() as session:
        user = get_user(session=session, username="ada")
        assert user is not None
        assert verify_password(user.password_hash, "s3cret-pass")
        assert (user.email, user.is_active, user.token_version) == ("ada@example.com", True, 0)
    db.dispose()


def test_create_with_prompted_password(url: str) -> None:
    result = invoke("create", "--username", "bob", "--role", "Viewer", stdin="pw-123456\n" * 2)
    assert result.exit_code == 0, result.output
    assert "created user bob (Viewer)" in result.output


def test_duplicate_username_is_an_error(url: str) -> None:
    assert create("ada", "Viewer").exit_code == 0
    result = create("ada", "Admin")
    assert result.exit_code == 1
    assert "Error: user 'ada' exists already" in result.output


def test_unknown_role_is_an_error_listing_the_roles(url: str) -> None:
    result = create("ada", "Viewer", "Wizard")
    assert result.exit_code == 1
    assert (
        "Error: unknown role(s): Wizard; existing roles: Admin, Op, User, Viewer" in result.output
    )
    assert json.loads(invoke("list", "--output", "json").output) == []


def test_short_password_is_an_error(url: str) -> None:
    result = create("ada", "Viewer", password="short")
    assert result.exit_code == 1
    assert "at least 8 characters" in result.output


def test_role_is_required(url: str) -> None:
    result = invoke("create", "--username", "ada", "--password-stdin", stdin="s3cret-pass")
    assert result.exit_code == 2
    assert "--role" in result.output


def test_list_as_json_and_table(url: str) -> None:
    assert create("zed", "Viewer").exit_code == 0
    assert create("ada", "User", "Op").exit_code == 0

    rows = json.loads(invoke("list", "--output", "json").output)
    assert [(r["username"], r["roles"], r["active"], r["email"]) for r in rows] == [
        ("ada", ["Op", "User"], True, None),
        ("zed", ["Viewer"], True, None),
    ]
    assert rows[0]["created_at"].endswith("+00:00")

    table = invoke("list").output.splitlines()
    assert table[0].split() == ["username", "email", "roles", "active", "created_at"]
    assert table[1].startswith("ada")


def test_create_user_refuses_a_bad_username(url: str) -> None:
    db = create_db_engine(url)
    with make_session_factory(db)() as session, pytest.raises(InvalidInputError):
        create_user(session=session, username="no spaces", password="s3cret-pass", role_names=[])
    db.dispose()


def _user(url: str, username: str) -> tuple[bool, int, str]:
    db = create_db_engine(url)
    with make_session_factory(db)() as session:
        user = get_user(session=session, username=username)
        assert user is not None
        found = (user.is_active, user.token_version, user.password_hash)
    db.dispose()
    return found


def test_disable_and_enable_revoke_tokens_once(url: str) -> None:
    create("ada", "Viewer")
    result = invoke("disable", "ada")
    assert result.exit_code == 0, result.output
    assert _user(url, "ada")[:2] == (False, 1)
    assert invoke("enable", "ada").exit_code == 0
    assert _user(url, "ada")[:2] == (True, 1)
    assert invoke("disable", "nobody").exit_code == 1


def test_the_last_admin_cannot_be_disabled(url: str) -> None:
    create("ada", "Admin")
    result = invoke("disable", "ada")
    assert result.exit_code == 1
    assert f"Error: {LAST_ADMIN}" in result.output
    assert _user(url, "ada")[:2] == (True, 0)  # nothing changed
    create("bob", "Admin")
    assert invoke("disable", "ada").exit_code == 0  # bob remains


def test_reset_password_sets_it_and_revokes_tokens(url: str) -> None:
    create("ada", "Viewer")
    result = invoke("reset-password", "ada", "--password-stdin", stdin="brand-new-pass\n")
    assert result.exit_code == 0, result.output
    active, version, password_hash = _user(url, "ada")
    assert (active, version) == (True, 1)
    assert verify_password(password_hash, "brand-new-pass")
