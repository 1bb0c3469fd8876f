"""Browser fixtures: the demo city on the live server, signing in through the login form, and
axe-core (the npm package pinned in tests/e2e/package-lock.json, installed by `make test`)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from portal.extensions import db

HERE = Path(__file__).parent
AXE_JS = HERE / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
WIDTHS = {"390": PHONE, "1280": DESKTOP}


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core's script; missing fails under CI=1 (as a missing Chromium does), else skips."""
    if not AXE_JS.exists():
        message = f"axe-core not installed at {AXE_JS} (make test runs npm ci in tests/e2e)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return AXE_JS.read_text(encoding="utf-8")


@pytest.fixture
def demo_city(app):
    """The city `flask --app portal seed-demo` builds (every service's demo.seed), in the test
    database the live server serves. Returns the demo password."""
    from portal.accounts.demo import DEMO_PASSWORD
    from portal.cli import seed_city

    seed_city(db.session)
    return DEMO_PASSWORD


def base_url(page) -> str:
    """The live server's URL, for pages of `browser_page` and of `axe_context` alike."""
    return getattr(page, "base_url", None) or page.context.base_url


def sign_in(page, email: str, password: str) -> None:
    """Sign in through the login form, as a person would."""
    page.goto(base_url(page) + "/account/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("form.stack button[type=submit]")
    page.wait_for_url(re.compile(r"^(?!.*/account/login)"))


@dataclass
class AxeReport:
    """Violations and "needs review" results of every page axe-core looked at."""

    seen: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)

    def add(self, where: str, results: dict) -> None:
        self.seen.append(where)
        for kind, out in (("violations", self.violations), ("incomplete", self.incomplete)):
            for rule in results[kind]:
                for node in rule["nodes"]:
                    target = " ".join(str(t) for t in node["target"])
                    summary = (node.get("failureSummary") or "").replace("\n", " ")[:160]
                    out.append(f"{where}: {rule['id']} ({rule['impact']}) at {target}: {summary}")

    def pages(self) -> set[str]:
        """The pages looked at, whatever the language and width ("name [ko, 390 px]")."""
        return {where.split(" [", 1)[0] for where in self.seen}

    def text(self) -> str:
        """One line per rule, page and element, with the languages and widths it was found at."""
        lines = [f"{len(self.violations)} violations, {len(self.incomplete)} needs review "
                 f"on {len(self.seen)} page views of {len(self.pages())} pages"]
        for title, found in (("violations:", self.violations), ("needs review:", self.incomplete)):
            if not found:
                continue
            grouped: dict[tuple[str, str], list[str]] = {}
            for line in found:
                where, rest = line.split(" [", 1)
                view, finding = rest.split("]: ", 1)
                grouped.setdefault((where, finding), []).append(view)
            lines.append(title)
            lines += [f"  {where} [{'; '.join(views)}]: {finding}" for (where, finding), views in grouped.items()]
        return "\n".join(lines)


def run_axe(page) -> dict:
    """axe-core's full default rule set on the page as it is now (the script is injected by the
    browser context, so the page's CSP is untouched)."""
    return page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ["violations", "incomplete"]});
            const keep = (list) => list.map(rule => ({id: rule.id, impact: rule.impact,
                nodes: rule.nodes.map(n => ({target: n.target, failureSummary: n.failureSummary}))}));
            return {violations: keep(r.violations), incomplete: keep(r.incomplete)};
        }"""
    )


@pytest.fixture
def axe_context(_browser, live_server, axe_source):
    """axe_context(locale="ko-KR") -> a browser context whose pages carry axe-core; `.base_url`."""
    contexts = []

    def open_context(locale: str = "ko-KR"):
        context = _browser.new_context(locale=locale, viewport=PHONE)
        context.add_init_script(axe_source)
        context.set_default_timeout(15_000)
        context.base_url = live_server.url
        contexts.append(context)
        return context

    yield open_context
    for context in contexts:
        context.close()
