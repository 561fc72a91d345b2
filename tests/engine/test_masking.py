"""Masking secrets in URLs: passwords in every URL, path and query of webhook URLs."""

from __future__ import annotations

import logging

import pytest

from engine.config.masking import MaskUrls, mask_url, mask_urls_in


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("redis://user:pass@host:6379/0", "redis://user:***@host:6379/0"),
        ("redis://:pass@host:6379/0", "redis://:***@host:6379/0"),
        ("redis://user:pa/ss@host:6379/0", "redis://user:***@host:6379/0"),
        ("redis://user:p@ss@host:6379/0", "redis://user:***@host:6379/0"),
        ("redis://user:p:a/s@s@host:6379/0", "redis://user:***@host:6379/0"),
        (
            "postgresql+psycopg://loom:x/y@db:5432/loom",
            "postgresql+psycopg://loom:***@db:5432/loom",
        ),
        ("redis://default@host:6379/0", "redis://default@host:6379/0"),  # a user name only
        ("redis://host:6379/0", "redis://host:6379/0"),
        ("https://host:8443/p?mail=a@b.io", "https://host:8443/p?mail=a@b.io"),  # no userinfo
        ("not a url", "not a url"),
    ],
)
def test_passwords_in_urls(url: str, masked: str) -> None:
    assert mask_url(url) == masked


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("https://hooks.slack.com/services/T0/B0/XXXX", "https://hooks.slack.com/***"),
        ("https://h.example.com:8443/hook?token=abc", "https://h.example.com:8443/***"),
        ("https://h.example.com?token=abc", "https://h.example.com/***"),
        ("https://u:p/w@h.example.com/x", "https://***@h.example.com/***"),
        ("https://token@h.example.com/x", "https://***@h.example.com/***"),
        ("https://h.example.com/", "https://h.example.com/"),
        ("https://h.example.com", "https://h.example.com"),
        ("https://hooks.slack.com/***", "https://hooks.slack.com/***"),  # idempotent
    ],
)
def test_webhook_urls_keep_only_scheme_and_host(url: str, masked: str) -> None:
    assert mask_url(url, hide_path=True) == masked


def test_urls_inside_messages() -> None:
    message = (
        "cannot reach https://hooks.slack.com/services/T0/B0/XXXX: refused; "
        "queue at 'redis://loom:s/e@c:ret@cache:6379/0' (via amqp://g:pw@mq/%2F)."
    )
    assert mask_urls_in(message) == (
        "cannot reach https://hooks.slack.com/services/T0/B0/XXXX: refused; "
        "queue at 'redis://loom:***@cache:6379/0' (via amqp://g:***@mq/%2F)."
    )
    assert mask_urls_in(message, hide_paths=True) == (
        "cannot reach https://hooks.slack.com/***: refused; "
        "queue at 'redis://***@cache:6379/***' (via amqp://***@mq/***)."
    )


def test_the_log_filter_masks_message_arguments_and_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logger = logging.getLogger("tests.masking")
    masking = MaskUrls(hide_paths=True)
    logger.addFilter(masking)
    try:
        raise ValueError("bad answer from https://hooks.example.com/T0/secret-one")
    except ValueError:
        with caplog.at_level(logging.INFO, logger="tests.masking"):
            logger.exception("posting to %s failed", "https://hooks.example.com/secret-two")
    finally:
        logger.removeFilter(masking)
    record = caplog.records[-1]
    assert record.getMessage() == "posting to https://hooks.example.com/*** failed"
    text = caplog.text
    assert "secret-one" not in text
    assert "secret-two" not in text
    assert "ValueError: bad answer from https://hooks.example.com/***" in text
