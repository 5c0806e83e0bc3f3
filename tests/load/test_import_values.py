"""Values `import remote` writes into documents: data, never references, never secrets."""

from __future__ import annotations

from reconciler.import_remote import _as_data


def test_a_secret_inside_another_is_written_whole_as_the_longer_one() -> None:
    secrets = {"SHORT": "abcd", "LONG": "xx-abcd-yy"}
    written = _as_data({"a": "key=xx-abcd-yy", "b": ["abcd"], "c": "${x}"}, secrets)
    assert written == {"a": "key=${secret:LONG}", "b": ["${secret:SHORT}"], "c": "$${x}"}
