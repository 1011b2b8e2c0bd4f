"""Reading a version's registration state and gate outcome from its tags.

Promotion trusts only a passed gate; a version a killed process left before its gate, with
tags ``registered`` and nothing else, must read as unfinished and not passed.
"""

from __future__ import annotations

import pytest

from shipyard.registry.client import gate_passed, registration_state

INTERRUPTED = {"shipyard.status": "registered", "shipyard.registration": "registered"}


@pytest.mark.parametrize(("tags", "state", "passed"), [
    (INTERRUPTED, "registered", False),
    ({"shipyard.status": "registered", "shipyard.registration": "gated",
      "shipyard.gate": "passed"}, "gated", True),
    ({"shipyard.status": "rejected", "shipyard.registration": "gated",
      "shipyard.gate": "failed"}, "gated", False),
    ({"shipyard.status": "production", "shipyard.registration": "compared",
      "shipyard.gate": "passed"}, "compared", True),
    # forced into production before its gate ran: still not a passed gate
    ({"shipyard.status": "production", "shipyard.registration": "registered"}, "registered",
     False),
    # versions registered before states were tagged: staged ones had passed their gate
    ({"shipyard.status": "staging"}, "compared", True),
    ({"shipyard.status": "archived"}, "compared", True),
    ({"shipyard.status": "rejected"}, "rejected", False),
    ({"shipyard.status": "registered"}, "registered", False),
    ({}, "registered", False),
])
def test_state_and_gate_are_read_from_the_tags(tags: dict[str, str], state: str,
                                               passed: bool) -> None:
    assert registration_state(tags) == state
    assert gate_passed(tags) is passed
