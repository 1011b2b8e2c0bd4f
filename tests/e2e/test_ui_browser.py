"""The web UI in a real browser: Debian's Chromium driven by Playwright, against ``shipyard
serve`` on the recommender example (two trained versions, a published set, a drift report,
outcomes, and a batch waiting in quarantine).

Signs in, visits every page with no console error (a screenshot of each is kept under
``tests/artifacts/ui/``), accepts the quarantined batch, opens a customer's recommendations,
promotes the challenger and finds the alias moved in the registry; a forged POST without its
CSRF token and a viewer's promotion are refused and change nothing. The tests of this module run
in order on one project (pytest-xdist's ``--dist loadfile`` keeps them on one worker).
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.e2e.cli import run
from tests.e2e.examples import ExampleProjects
from tests.e2e.server import serving

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "ui"
OPERATOR = "ui-operator-key-" + "o" * 20
VIEWER = "ui-viewer-key-" + "v" * 20
BOUND_MS = 300_000  # Playwright's waits: far beyond what a busy machine needs

if not CHROMIUM.exists():
    reason = "Debian's chromium is not installed: 'make browser' installs it"
    if os.environ.get("CI") == "true":
        raise AssertionError(reason)
    pytest.skip(reason, allow_module_level=True)


def _quarantine_a_batch(root: Path) -> None:
    """An order line with quantity 0 breaks the declared ``quantity: {min: 1}``: the next
    ingest puts the batch in quarantine (exit 3) and lands nothing."""
    with sqlite3.connect(root / "erp.db") as con:
        line, order = con.execute("SELECT max(order_line_id) + 1, max(order_id) "
                                  "FROM order_lines").fetchone()
        con.execute("INSERT INTO order_lines (order_line_id, order_id, customer_id, product_id, "
                    "order_date, quantity, unit_price, discount) SELECT ?, order_id, "
                    "customer_id, product_id, order_date, 0, unit_price, discount FROM "
                    "order_lines WHERE order_id = ? LIMIT 1", (line, order))
    con.close()
    run("ingest", cwd=root, check=3)


@pytest.fixture(scope="module")
def project(example_projects: ExampleProjects, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """v1 in production with a published set and its outcomes, v2 staged after the next month,
    a drift report, and a rejected batch waiting in quarantine."""
    root = example_projects.copy("recommender-published", tmp_path_factory.mktemp("ui") / "shop")
    run("run", "train", cwd=root)
    run("monitor", "drift", "recommender", cwd=root, check=None)  # 5 when it finds drift
    run("monitor", "outcomes", "recommender", cwd=root)
    _quarantine_a_batch(root)
    return root


@pytest.fixture(scope="module")
def base(project: Path) -> Iterator[str]:
    """``shipyard serve`` with an operator and a viewer key; the UI at ``{base}/ui``."""
    with serving(project, keys=(f"{OPERATOR}:operator", f"{VIEWER}:viewer")) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM))
        yield chromium
        chromium.close()


class Console:
    """Console errors and uncaught page errors of one browser page."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(f"{page.url}: {m.text}")
                if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"{page.url}: page error: {e}"))
        # which resource failed: the console message alone does not say
        page.on("response", lambda r: self.errors.append(f"{page.url}: {r.status} {r.url}")
                if r.status >= 400 else None)


def sign_in(browser: Browser, base: str, key: str, *, width: int = 1400) -> tuple[Page, Console]:
    """A fresh browser context ``width`` pixels wide signed in with ``key`` (its session
    cookie only there)."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    context.set_default_timeout(BOUND_MS)
    page = context.new_page()
    console = Console(page)
    page.goto(f"{base}/ui/")
    assert "/ui/login" in page.url  # not signed in: the sign-in page, never the page itself
    page.fill("#key", key)
    page.click("form[action$='/login'] button[type=submit]")
    page.wait_for_url(re.compile(r".*/ui/(\?.*)?$"))
    return page, console


def visit(page: Page, url: str, shot: str) -> None:
    """Open ``url`` and keep a screenshot of it as ``tests/artifacts/ui/{shot}.png``."""
    page.goto(url)
    page.wait_for_load_state("networkidle")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{shot}.png"), full_page=True)


def production(project: Path) -> str:
    """The production version as ``shipyard models ls`` shows it (``v1``)."""
    listed = run("models", "ls", cwd=project).stdout
    row = next(line for line in listed.splitlines() if "recommender" in line)
    return re.findall(r"v\d+", row)[0]


def test_every_page_opens_without_a_console_error(browser: Browser, base: str,
                                                  project: Path) -> None:
    page, console = sign_in(browser, base, OPERATOR)
    ui = f"{base}/ui"
    pages = {"overview": f"{ui}/", "lake": f"{ui}/lake", "runs": f"{ui}/runs",
             "models": f"{ui}/models/recommender", "monitoring": f"{ui}/monitoring",
             "monitoring-model": f"{ui}/monitoring/recommender",
             "recommendations": f"{ui}/recommendations"}
    for name, url in pages.items():
        visit(page, url, name)
        assert page.locator("h1").first.is_visible(), name
        assert page.locator("p.error").count() == 0, (name, page.locator("p.error").all_inner_texts())
    # pages reached by their links: a table, a batch in quarantine, a run
    for name, start, link in (("lake-table", f"{ui}/lake", "a[href*='/lake/tables/clean/']"),
                              ("lake-batch", f"{ui}/lake", "a[href*='/lake/batches/']"),
                              ("run", f"{ui}/runs", "a[href*='/runs/train-']")):
        page.goto(start)
        visit(page, base + (page.locator(link).first.get_attribute("href") or ""), name)
        assert page.locator("p.error").count() == 0, name
    # the plots are drawn: plotly made its SVGs on the models and monitoring pages
    visit(page, f"{ui}/monitoring/recommender", "monitoring-model")
    assert page.locator("#outcomes-chart .main-svg").count() >= 1
    assert page.locator(".plots .js-plotly-plot").count() >= 4
    assert console.errors == []


OVERFLOWING = """() => [...document.querySelectorAll('.card')].flatMap(card => {
    const box = card.getBoundingClientRect(), style = getComputedStyle(card);
    const left = box.left + parseFloat(style.borderLeftWidth) + parseFloat(style.paddingLeft);
    const right = box.right - parseFloat(style.borderRightWidth) - parseFloat(style.paddingRight);
    return [...card.querySelectorAll('table')].filter(table => {
        const t = table.getBoundingClientRect();
        return t.right > right + 1 || t.left < left - 1;
    }).map(table => `${card.id || card.querySelector('h2, h3')?.innerText || 'a card'}: table `
        + `${Math.round(table.getBoundingClientRect().width)} px in ${Math.round(right - left)} px`);
})"""
"""Tables wider than the content box of their card (which would scroll or clip them)."""


def ui_links(page: Page, base: str) -> set[str]:
    """The UI's own links on the page (absolute, without their #fragment)."""
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
    return {h.split("#")[0] for h in hrefs if h.startswith(f"{base}/ui/")}


def test_at_1280_px_no_table_overflows_its_card_and_every_link_answers_200(
        browser: Browser, base: str, project: Path) -> None:
    page, console = sign_in(browser, base, OPERATOR, width=1280)
    ui = f"{base}/ui"
    with sqlite3.connect(project / "erp.db") as con:
        customer = con.execute("SELECT customer_id FROM order_lines GROUP BY customer_id "
                               "ORDER BY count(*) DESC LIMIT 1").fetchone()[0]
    con.close()
    start = [f"{ui}/", f"{ui}/lake", f"{ui}/runs", f"{ui}/models/recommender",
             f"{ui}/monitoring", f"{ui}/monitoring/recommender",
             f"{ui}/recommendations?customer={customer}"]
    overflowing: dict[str, list[str]] = {}
    links: dict[str, str] = {}  # link -> a page it is on
    # the navigation's pages and every page they link to; every link on those answers 200
    for depth, pages in enumerate((start, None)):
        for url in pages if pages is not None else sorted(set(links) - set(start)):
            page.goto(url)
            page.wait_for_load_state("networkidle")
            if page.locator(".card").count():
                overflowing[url] = page.evaluate(OVERFLOWING)
            if depth == 0:
                links.update(dict.fromkeys(ui_links(page, base), url))
    assert {url: found for url, found in overflowing.items() if found} == {}
    assert len(links) > 20 and any("/ui/reports/" in link for link in links)
    answers = {link: page.request.get(link) for link in sorted(links)}  # redirects followed
    assert {(link, links[link]): (answer.status, answer.url) for link, answer in answers.items()
            if answer.status != 200 or "/ui/login" in answer.url} == {}  # signed in throughout
    assert console.errors == []


def test_an_operator_accepts_the_quarantined_batch(browser: Browser, base: str,
                                                   project: Path) -> None:
    page, console = sign_in(browser, base, OPERATOR)
    page.goto(f"{base}/ui/lake")
    page.locator("#quarantine a[href*='/lake/batches/']").first.click()
    page.fill("#reason", "a zero quantity is a return, checked with sales")
    page.click("#accept button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.locator(".flash").count() == 1, page.content()
    waiting = run("quarantine", "ls", cwd=project).stdout
    assert "empty" in waiting.lower() or "no batch" in waiting.lower(), waiting
    assert console.errors == []


def test_a_customers_history_is_beside_both_lists(browser: Browser, base: str,
                                                  project: Path) -> None:
    page, console = sign_in(browser, base, OPERATOR)
    visit(page, f"{base}/ui/recommendations", "recommendations-search")
    with sqlite3.connect(project / "erp.db") as con:  # a customer who bought something
        customer, name = con.execute(
            "SELECT c.customer_id, c.customer_name FROM customers c JOIN order_lines l "
            "USING (customer_id) GROUP BY c.customer_id ORDER BY count(*) DESC LIMIT 1").fetchone()
    con.close()
    page.fill("#q", name.split()[-1])  # by (last) name
    page.click("form[role=search] button[type=submit]")
    page.wait_for_load_state("networkidle")
    if page.locator("#matches").count():  # more than one customer has that name
        page.locator(f"#matches a:text-is('{customer}')").click()
    page.wait_for_selector("#history")
    visit(page, page.url, "recommendations")
    assert customer in page.locator("h2#customer").inner_text()
    assert page.locator("#history tr").count() > 1
    champion, challenger = page.locator("#champion tr"), page.locator("#challenger tr")
    assert champion.count() == 11 and challenger.count() == 11  # header and 10
    assert "v1" in page.locator("#champion").locator("xpath=..").inner_text()
    assert "v2" in page.locator("#challenger").locator("xpath=..").inner_text()
    bought = {t.split()[-1] for t in page.locator("#history tr td:first-child").all_inner_texts()}
    for row in page.locator("#champion tr[data-product]").all():
        product = row.get_attribute("data-product")
        assert (product in bought) == (row.locator(".badge:text-is('bought')").count() == 1)
    assert console.errors == []


def test_a_forged_post_without_its_csrf_token_changes_nothing(browser: Browser, base: str,
                                                              project: Path) -> None:
    page, _ = sign_in(browser, base, OPERATOR)
    before = production(project)
    # the signed-in browser's own cookie, but no token: what another site's form would send
    forged = page.request.post(f"{base}/ui/models/recommender/promote",
                               form={"version": "2", "reason": "forged"}, max_redirects=0)
    assert forged.status == 403 and "CSRF" in forged.text()
    wrong = page.request.post(f"{base}/ui/models/recommender/promote", max_redirects=0,
                              form={"version": "2", "reason": "forged", "csrf_token": "x" * 43})
    assert wrong.status == 403
    assert production(project) == before == "v1"


def test_a_viewer_who_tries_to_promote_is_refused_and_nothing_changes(
        browser: Browser, base: str, project: Path) -> None:
    page, console = sign_in(browser, base, VIEWER)
    visit(page, f"{base}/ui/models/recommender", "models-viewer")
    assert page.locator("#promote").count() == 0  # no form to send
    assert "an operator key may promote" in page.inner_text("main")
    assert console.errors == []
    # the form an operator's page has, sent from the viewer's session with its own token
    page.evaluate("""() => {
        const form = Object.assign(document.createElement("form"), {method: "post",
            action: location.pathname + "/promote" + location.search});
        const token = document.querySelector("input[name=csrf_token]").value;
        for (const [name, value] of [["version", "2"], ["reason", "I want to"],
                                     ["csrf_token", token]]) {
            form.append(Object.assign(document.createElement("input"),
                                      {type: "hidden", name, value}));
        }
        document.body.append(form);
        form.submit();
    }""")
    page.wait_for_url(re.compile(r".*/promote(\?.*)?$"))
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(ARTIFACTS / "models-viewer-refused.png"), full_page=True)
    assert "your key's role is viewer" in page.inner_text("main")
    assert "an operator key may" in page.inner_text("main")
    assert production(project) == "v1"


def test_an_operator_promotes_the_challenger_and_the_alias_moves(browser: Browser, base: str,
                                                                 project: Path) -> None:
    page, console = sign_in(browser, base, OPERATOR)
    visit(page, f"{base}/ui/models/recommender", "models")
    page.select_option("#promote-version", "2")
    page.fill("#promote-reason", "v2 reviewed in the recommendation viewer")
    page.click("#promote button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "recommender version 2 is production" in page.locator(".flash").inner_text()
    assert "production" in page.locator("#versions tr[data-version='2'] .aliases").inner_text()
    assert production(project) == "v2"  # the registry itself, read by the CLI
    shown = run("models", "show", "recommender", cwd=project).stdout
    assert "v2 reviewed in the recommendation viewer" in shown and "web UI" in shown
    # and back, through the rollback form
    page.fill("#rollback-reason", "back to v1 for the test")
    page.click("#rollback button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert production(project) == "v1"
    visit(page, page.url, "models-after-rollback")
    assert console.errors == []

