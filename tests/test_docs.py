"""The user documentation names every check the pipeline runs."""

from pathlib import Path

from samlfed.saml import CHECK_ORDER

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_validation_doc_lists_every_check() -> None:
    text = (DOCS / "validation.md").read_text()
    missing = [check_id for check_id in CHECK_ORDER if f"`{check_id}`" not in text]
    assert not missing
