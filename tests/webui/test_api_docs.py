"""``/api/v1/docs`` and ``/api/v2/docs``: Swagger UI served by the webserver from the
swagger-ui-bundle package, with no inline script and nothing from another site (checked
without a browser; tests/browser runs it in Chromium, offline)."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from tests.webui.conftest import bearer, login
from tests.webui.test_headers import assert_secured


class _References(HTMLParser):
    """The URLs a page loads, and the text of any inline script."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts: list[str] = []
        self.handlers: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        for name in ("src", "href"):
            if attributes.get(name):
                self.urls.append(str(attributes[name]))
        self.handlers += [name for name in attributes if name.startswith("on")]
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts.append(data)


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_the_api_docs_load_only_local_assets_that_are_served(
    client: FlaskClient, version: str
) -> None:
    page = client.get(f"/api/{version}/docs")
    assert page.status_code == 200
    assert_secured(page)
    html = page.get_data(as_text=True)
    assert "://" not in html  # no CDN, no absolute URL of any site
    found = _References()
    found.feed(html)
    assert found.inline_scripts == []
    assert found.handlers == []
    assert {url.rsplit("/", 1)[-1] for url in found.urls} >= {
        "swagger-ui-bundle.js",
        "swagger-ui.css",
        "api-docs.js",
    }
    kinds = {".js": "javascript", ".css": "text/css", ".png": "image/png"}
    for url in found.urls:
        assert url.startswith("/"), url
        assert not url.startswith("//"), url
        with client.get(url) as asset:
            assert asset.status_code == 200, url
            assert kinds[Path(url).suffix] in asset.content_type, (url, asset.content_type)
            assert_secured(asset)
    with client.get(next(u for u in found.urls if u.endswith("bundle.js"))) as bundle:
        assert b"SwaggerUIBundle" in bundle.get_data()
    spec_url = html.split('data-spec-url="', 1)[1].split('"', 1)[0]
    assert spec_url == f"/api/{version}/openapi.json"
    assert client.get(spec_url).get_json()["info"]["title"].startswith("Loom REST API")


@pytest.mark.parametrize("version", ["v1", "v2"])
@pytest.mark.parametrize(
    "name", ["index.html", "swagger-initializer.js", "..%2Fswagger-ui.css", "nothing.js"]
)
def test_the_api_docs_serve_no_other_file_of_the_package(
    client: FlaskClient, version: str, name: str
) -> None:
    response = client.get(f"/api/{version}/docs/assets/{name}")
    assert response.status_code == 404
    assert {"code", "message", "errors"} <= set(response.get_json())


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_the_api_docs_page_needs_no_token(client: FlaskClient, version: str) -> None:
    token = login(client, "viewer")["access_token"]
    assert client.get(f"/api/{version}/docs").status_code == 200
    assert client.get(f"/api/{version}/docs", headers=bearer(token)).status_code == 200
