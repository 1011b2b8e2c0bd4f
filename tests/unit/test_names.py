"""Each shared name has one spelling: no module but shipyard.names writes a tag key or the
signature's type out by hand."""

from __future__ import annotations

import re
from pathlib import Path

from shipyard import names

SRC = Path(names.__file__).parent


def test_tag_keys_and_the_signature_type_are_spelt_only_in_names() -> None:
    keys = [v for k, v in vars(names).items() if k.isupper() and str(v).startswith("shipyard.")]
    spelt = re.compile("|".join([*(rf'"{re.escape(k)}"' for k in keys),
                                 re.escape("list[tuple[str, str, bool]]")]))
    found = [f"{path.relative_to(SRC)}:{n}" for path in SRC.rglob("*.py")
             if path.name != "names.py"
             for n, line in enumerate(path.read_text().splitlines(), 1) if spelt.search(line)]
    assert found == []
