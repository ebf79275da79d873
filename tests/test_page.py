"""index.html as a real browser (headless Chromium) renders it."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from lxml import html

from conftest import FIXTURES, SAMPLE, run_cli
from digestgen import Item, digest_text

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
HOSTILE = '<script>document.title="pwned"</script> & <b>Bold</b> ]]> Title'

if CHROMIUM is None:
    # Under CI the browser is installed by .ci/run: its absence is a failure, never a skip.
    if os.environ.get("CI"):
        raise RuntimeError("CI is set but Chromium is missing: .ci/run must install it")
    pytest.skip("Chromium is not installed (apt-get install chromium)", allow_module_level=True)


def render(page: Path, tmp: Path, width: int = 390) -> html.HtmlElement:
    """The DOM after Chromium has loaded and laid out the page."""
    flags = [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={tmp / 'profile'}", f"--window-size={width},900", "--dump-dom",
    ]  # fmt: skip
    r = subprocess.run([CHROMIUM, *flags, page.as_uri()], capture_output=True, timeout=120, check=True)
    return html.fromstring(r.stdout)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("page")
    hostile = tmp / "hostile.txt"
    hostile.write_text(digest_text(date(2024, 6, 2), submitted=[Item("Hostile001", HOSTILE, abstract="<i>x</i>")]))
    out = tmp / "out"
    r = run_cli("update", SAMPLE, FIXTURES / "certifications-2024-03-10.txt", hostile, "-o", out)
    assert r.code == 0, r.err
    return tmp, out, render(out / "index.html", tmp)


def test_every_paper_is_shown(site):
    _, _, dom = site
    articles = dom.xpath("//main/section/ol/li/article")  # under a heading per week
    assert len(articles) == 24 + 2 + 1
    titles = [a.xpath("string(.//h3)") for a in articles]
    assert titles[:3] == [
        HOSTILE,
        "Sparse Maps: A Study of Things",
        "On the Certification: Of Long Titles That Wrap Across Two Lines",
    ]
    first_cert = articles[1]
    assert [b.text_content() for b in first_cert.xpath(".//span[@class='badge']")] == [
        "Certified", "Featured Certification", "Survey Certification",
    ]  # fmt: skip
    assert dom.xpath("string(/html/@lang)") == "en"


def test_hostile_title_shows_as_text(site):
    _, _, dom = site
    assert dom.xpath("string(//title)") == "TMLR papers"  # the injected script never ran
    assert dom.xpath("//body//script/@src") == ["search.js"] and not dom.xpath("//h3//b")  # our one script
    assert dom.xpath("string(//main//article[1]//h3)") == HOSTILE


def test_every_feed_link_points_at_a_file(site):
    _, out, dom = site
    hrefs = dom.xpath("//head/link[@rel='alternate']/@href")
    table = dom.xpath("//table[@class='feeds']//a/@href")
    assert len(hrefs) == len(table) == 12
    assert sorted(hrefs) == sorted(table)
    for href in hrefs:
        assert (out / href).is_file(), href
    kinds = set(dom.xpath("//head/link[@rel='alternate']/@type"))
    assert kinds == {"application/atom+xml", "application/rss+xml", "application/feed+json"}


def test_abstract_opens_without_javascript(site):
    _, _, dom = site
    details = dom.xpath("//article[.//h3/a[contains(@href,'Sb6p5mcefw')]]//details")[0]
    assert details.xpath("string(summary)") == "Abstract"
    paragraphs = details.xpath("p")
    assert len(paragraphs) == 3
    assert paragraphs[2].text_content().endswith("such as wide neural networks.")


def test_desktop_width_renders_the_same_content(site):
    tmp, out, phone = site
    desktop = render(out / "index.html", tmp, width=1280)
    assert desktop.xpath("string(//main)") == phone.xpath("string(//main)")
