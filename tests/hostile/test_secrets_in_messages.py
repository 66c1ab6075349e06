"""A diagnostic that quotes a file's text (a schedule's SUMMARY, an export's user name) never
carries a credential into check output, which CI publishes (found by an outside review)."""

from __future__ import annotations

from kb.check.engine import _without_secrets


def test_a_quoted_credential_is_removed_from_a_message() -> None:
    message = "shift SUMMARY 'On Call - ghp_abcdefghijklmnopqrstuvwxyz0123456789 AKIAIOSFODNN7EXAMPLE' maps to nobody"
    cleaned = _without_secrets(message)
    assert "ghp_abcdef" not in cleaned and "AKIAIOSFODNN7EXAMPLE" not in cleaned
    assert cleaned.startswith("shift SUMMARY 'On Call - [secret removed by kb]")


def test_an_ordinary_message_is_unchanged() -> None:
    message = "step 'rollback': alice lacks deploy:rollback:prompt-service (trace 4bf92f3577b34da6a3ce929d0e0e4736)"
    assert _without_secrets(message) == message
