"""The text Shipyard generates from templates: files it writes (the Dockerfile, the probe) and
report pages, each a Jinja2 template in its package's ``templates/`` folder.

One environment per package, configured once so that no writer can get it wrong: a template
named ``*.html`` escapes every value (a column or model name holding markup shows as text), any
other is written as is; a variable the caller did not pass is an error rather than an empty
string; and a file's last newline is kept, so the output is byte for byte what the template says.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import jinja2

__all__ = ["render"]


@cache
def _environment(package: str) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader(package, "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def render(package: str, template: str, **values: Any) -> str:
    """``package``'s ``templates/<template>`` filled with ``values``."""
    return _environment(package).get_template(template).render(**values)
