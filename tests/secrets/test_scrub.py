"""Mask by value: what the one scrubber removes, and where it applies by itself."""

from __future__ import annotations

import io
import json
import logging
from urllib.parse import quote, quote_plus

from reconciler import scrub
from reconciler.render.values import MAX_VALUE, show

SECRET = 'tok"en\\with/odd&chars 9f'


def test_every_escaped_form_of_a_registered_secret_is_cut() -> None:
    scrub.register(SECRET)
    forms = [
        SECRET,
        json.dumps(SECRET)[1:-1],
        json.dumps(json.dumps(SECRET)[1:-1])[1:-1],  # JSON text inside a JSON string
        quote(SECRET, safe=""),
        quote(SECRET),
        quote_plus(SECRET),
        repr(SECRET)[1:-1],
    ]
    for form in forms:
        assert scrub.scrub(f"before {form} after") == "before (sensitive) after", form
    document = {"a": [SECRET, {"b": f"x-{SECRET}"}], "n": 3}
    assert scrub.scrub_data(document) == {"a": ["(sensitive)", {"b": "x-(sensitive)"}], "n": 3}


def test_very_short_values_are_not_registered_but_explicit_ones_are_cut() -> None:
    scrub.register("ab")
    assert scrub.scrub("a tab") == "a tab", "two letters would wreck every output"
    assert scrub.scrub("key=xyz", ["xyz"], replacement="***") == "key=***"


def test_a_log_record_is_scrubbed_whichever_logger_and_handler_it_reaches() -> None:
    scrub.register(SECRET)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("some.library.nobody.configured")
    logger.addHandler(handler)
    try:
        logger.warning("connecting with %s", SECRET)
        try:
            raise ValueError(f"bad token {SECRET!r}")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert "connecting with (sensitive)" in text and "bad token" in text
    assert SECRET not in text and repr(SECRET)[1:-1] not in text


def test_a_shortened_value_shows_no_prefix_of_a_secret() -> None:
    secret = "s" * 10 + "-long-secret-value"
    scrub.register(secret)
    shown = show("x" * 20 + secret + "y" * MAX_VALUE)
    assert len(shown) == MAX_VALUE and "x(sensitive)y" in shown
    assert not any(secret[:n] in shown for n in range(4, len(secret)))
