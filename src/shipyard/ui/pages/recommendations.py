"""Recommendations: find a customer, see what they bought beside what each version recommends.

The qualitative check MAP@K cannot give: a person picks a customer and judges whether the
champion's top-K (what the API serves) and the challenger's make sense next to the customer's
purchases. Items bought before are marked in both lists, and so is every item one list has and
the other has not. Customers and purchases come from :func:`shipyard.ui.customers.customer_book`
(read once per lake snapshot), the lists from :func:`shipyard.ui.topk.customer_topk`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shipyard.errors import NotFoundError
from shipyard.ui.customers import customer_book
from shipyard.ui.render import href, render
from shipyard.ui.session import Session, project, viewer

__all__ = ["router"]

router = APIRouter()

MODEL = "recommender"
"""The model shown when the project has one recommender and ``?model=`` names none."""


def _recommenders(request: Request) -> list[str]:
    """The declared models, ``recommender`` first (whether one is a recommender shows when
    it is loaded: another kind has no top-K). Read from shipyard.yaml: asking the registry
    for its names takes a tenth of a second."""
    return sorted(project(request).config.models, key=lambda n: (n != MODEL, n))


@router.get("/recommendations", response_class=HTMLResponse)
def page(request: Request, _: Annotated[Session, Depends(viewer)], q: str | None = None,
         customer: str | None = None, model: str | None = None) -> Response:
    """Search (``?q=``), or one customer's history and lists (``?customer=``)."""
    proj = project(request)
    book = customer_book(proj)
    models = _recommenders(request)
    model = model or (models[0] if models else MODEL)
    if model not in models and models:
        raise NotFoundError(f"no model {model!r} is declared in shipyard.yaml; declared: "
                            f"{', '.join(models)}")
    matches = book.search(q) if q else []
    if q and len(matches) == 1 and customer is None:  # one match: straight to them
        return RedirectResponse(href(request, "/recommendations", customer=matches[0].id,
                                     model=model), status_code=303)
    context: dict[str, Any] = {}
    if customer is not None:
        from shipyard.ui.topk import customer_topk

        found = book.customers.get(customer)
        if found is None:
            raise NotFoundError(f"no customer {customer!r} in {proj.env_name}'s lake; search by "
                                f"id or name")
        bought = book.bought(customer)
        champion, challenger = customer_topk(proj, customer, bought, model=model)
        context = {"customer": found, "history": book.history(customer),
                   "champion": champion, "challenger": challenger,
                   "names": {p: book.product(p) for lists in (champion, challenger) if lists
                             for p in (r.product for r in lists.items)},
                   "publish": proj.command("recommend --top 10"),
                   "promote": proj.command(f'models promote {model} VERSION --reason "..."')}
    return render(request, "recommendations.html", title="Recommendations", q=q or "",
                  matches=matches, model=model, models=models, customers=len(book.customers),
                  **context)
