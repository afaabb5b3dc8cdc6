"""`make docs`'s site, built from the SMOKE notebook runs the notebook tests share, served on 127.0.0.1 and loaded
page by page in headless Chromium (Debian's `chromium`, driven by playwright): every page loads, no link or image is
broken, each notebook page shows at least one figure, and the landing page's screenshot is not blank."""

import functools
import http.server
import io
import os
import shutil
import threading
import urllib.error
import urllib.request
from urllib.parse import urldefrag, urljoin, urlparse

import pytest
from conftest import ROOT, smoke_runs, smoke_runs_folder

from finetune_cookbook.notebooks import notebook_paths
from finetune_cookbook.site import PAGES, build

pytestmark = pytest.mark.site

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
NOTEBOOKS = notebook_paths(ROOT / "notebooks")


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # one line per request would bury the test's own report
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site, built as `make docs` builds it, from the session's SMOKE runs; its folder and its address."""
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("The site test needs Debian's chromium: `.ci/run` installs it (apt-get install chromium).")
        pytest.skip("no chromium here: `apt-get install chromium` runs the site test")
    failed = {name: run for name, run in smoke_runs(NOTEBOOKS, tmp_path_factory).items() if isinstance(run, str)}
    if failed:  # each is reported by its notebook test; `make docs` would only run it again
        pytest.fail(f"the site needs every notebook's SMOKE run, and these failed: {', '.join(failed)}")
    # the runs lie in <folder>/<name>/<name>.ipynb, where `make docs` looks for `make run`'s
    folder = tmp_path_factory.mktemp("site")
    built = build(ROOT, folder / "site", smoke_runs_folder(tmp_path_factory), staging=folder / "staging")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(built)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield built, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser(site):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


def page_urls(built, address: str) -> list[str]:
    return sorted(urljoin(address, page.relative_to(built).parent.as_posix() + "/")
                  for page in built.rglob("index.html"))


def visit(browser, url: str) -> dict:
    """Loads `url` and reports what a reader would meet: the response's status, uncaught script errors, requests
    to the site that failed or answered 4xx / 5xx, images that did not decode, the page's links and its figures."""
    page = browser.new_page()
    errors, broken = [], []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("requestfailed", lambda request: broken.append(f"{request.url} ({request.failure})"))
    page.on("response", lambda response: response.status >= 400 and broken.append(f"{response.url} ({response.status})"))
    response = page.goto(url, wait_until="load")
    found = page.evaluate("""() => ({
        links: [...document.querySelectorAll('a[href]')].map(a => a.href),
        images: [...document.images].map(i => ({src: i.src.slice(0, 80), ok: i.complete && i.naturalWidth > 0})),
        figures: [...document.querySelectorAll('.jp-OutputArea-output img, .output_png img, img[src^="data:image"]')]
            .filter(i => i.naturalWidth > 50 && i.naturalHeight > 50).length,
        smoke_note: document.body.innerText.includes('A smoke run.'),
    })""")
    page.close()
    return {"status": response.status if response else None, "errors": errors, "broken": broken, **found}


@pytest.fixture(scope="module")
def visited(site, browser):
    built, address = site
    return {url: visit(browser, url) for url in page_urls(built, address)}


def test_the_site_has_every_page_and_every_notebook(visited):
    paths = {urlparse(url).path for url in visited}
    assert "/" in paths and len(paths) >= len(PAGES) + len(NOTEBOOKS)
    for path in NOTEBOOKS:
        assert f"/notebooks/{path.stem}/" in paths, path.stem


def test_every_page_loads_without_a_script_error_or_a_broken_request(visited):
    failures = {url: {k: v[k] for k in ("status", "errors", "broken")} for url, v in visited.items()
                if v["status"] != 200 or v["errors"] or v["broken"]}
    assert not failures, failures


def test_no_image_is_broken(visited):
    broken = {url: [i["src"] for i in v["images"] if not i["ok"]] for url, v in visited.items()}
    assert not {url: images for url, images in broken.items() if images}


def test_no_link_within_the_site_is_broken(site, visited):
    """Every link to the site itself, from every page, answers 200 (the fragment after # left aside)."""
    _, address = site
    targets = {urldefrag(link).url for v in visited.values() for link in v["links"] if link.startswith(address)}
    broken = []
    for target in sorted(targets):
        try:
            with urllib.request.urlopen(target, timeout=30) as answer:
                if answer.status != 200:
                    broken.append(f"{target} ({answer.status})")
        except urllib.error.HTTPError as error:
            broken.append(f"{target} ({error.code})")
    assert len(targets) > len(visited) and not broken, broken


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_each_notebook_page_shows_a_figure_and_says_it_is_a_smoke_run(site, visited, path):
    _, address = site
    page = visited[urljoin(address, f"notebooks/{path.stem}/")]
    assert page["figures"] >= 1, f"{path.stem}: no figure among {len(page['images'])} image(s)"
    assert page["smoke_note"]  # built from SMOKE runs, the page must not pass them off as results


def test_the_landing_page_is_not_blank(site, browser):
    from PIL import Image

    _, address = site
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(address, wait_until="load")
    shot = Image.open(io.BytesIO(page.screenshot())).convert("L")
    assert "Fine-tuning cookbook" in page.title()
    page.close()
    counts = sorted(shot.getcolors(256 * 256) or [], reverse=True)
    background = counts[0][0] if counts else shot.width * shot.height
    # text, the menu and the header: well over 2% of the pixels differ from the background
    assert 1 - background / (shot.width * shot.height) > 0.02
