"""Host names and proxies: absolute URLs come from ``public_url`` or an allowed ``Host``.

Other ``Host`` values get 400 in the one error shape; ``X-Forwarded-*`` counts only from the
``trusted_proxy``; answers whose URLs came from ``Host`` are not cached publicly.
"""

from __future__ import annotations

import json
import subprocess
import urllib.request
from urllib.parse import urlsplit

import pytest
from rdflib import Graph

from aigraph.errors import UsageError
from aigraph.web import create_app
from conftest import LiveServer

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
#: Answers that hold absolute URLs of the site.
EMBEDDING = ["/", "/catalog.nt", "/.well-known/void.nt", "/openapi.json", "/queries"]


def shown(response) -> str:
    return f"{response.status_code} {response.headers} {response.get_data(as_text=True)[:600]}"


def client_for(core, **values):
    return create_app(core.settings.with_values(**values), core=core).test_client()


def openapi_server(response) -> str:
    return response.get_json()["servers"][0]["url"]


# --- the allow-list -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/", "/sparql?query=ASK%7B%7D", "/catalog", "/openapi.json", "/nothing-here", "/healthz"],
)
@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "evil.example:8000",
        "localhost.evil.example",
        "127.0.0.1.evil.example",
        "[::2]",
        "local host",
        "localhost@x",
    ],
)
def test_other_hosts_get_400_in_the_error_shape(client, path, host):
    response = client.get(path, headers={"Host": host})
    assert response.status_code == 400, shown(response)
    body = response.get_json()
    assert set(body) == {"error", "status", "message", "request_id"}, body
    assert body["error"] == "host-not-allowed" and body["status"] == 400
    assert "evil" not in response.get_data(as_text=True)
    assert response.headers["X-Request-Id"] == body["request_id"]


def test_browsers_get_the_html_error_page_for_a_wrong_host(client):
    response = client.get("/", headers={"Host": "evil.example", "Accept": BROWSER})
    assert response.status_code == 400 and response.mimetype == "text/html", shown(response)
    assert "host-not-allowed" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "host",
    [
        "localhost",
        "localhost:8000",
        "LOCALHOST:1",
        "127.0.0.1",
        "127.0.0.1:65535",
        "[::1]",
        "[::1]:8000",
    ],
)
def test_default_hosts_are_served_and_urls_are_built_from_them(client, host):
    response = client.get("/openapi.json", headers={"Host": host})
    assert response.status_code == 200, shown(response)
    assert openapi_server(response) == f"http://{host.lower()}"
    catalog = client.get("/catalog.nt", headers={"Host": host})
    assert f"<http://{host.lower()}/dumps/aigraph.ttl>" in catalog.get_data(as_text=True)


def test_the_listen_address_is_allowed(core):
    client = client_for(core, host="192.0.2.7")
    assert client.get("/openapi.json", headers={"Host": "192.0.2.7:8080"}).status_code == 200
    assert client.get("/openapi.json", headers={"Host": "192.0.2.8"}).status_code == 400


def test_allowed_hosts_replace_the_defaults(core):
    client = client_for(core, allowed_hosts="data.example.org, Mirror.example.org [::5]")
    for host in ("data.example.org", "mirror.example.org:8443", "[::5]:8080"):
        response = client.get("/openapi.json", headers={"Host": host})
        assert response.status_code == 200, (host, shown(response))
        assert openapi_server(response) == f"http://{host.lower()}"
    assert client.get("/openapi.json", headers={"Host": "localhost"}).status_code == 400


def test_a_star_allows_any_host(core):
    client = client_for(core, allowed_hosts="*")
    assert client.get("/openapi.json", headers={"Host": "anything.example"}).status_code == 200


def test_a_request_without_host_is_served_with_the_server_name(client):
    # HTTP/1.0 clients may send no Host: the URLs then come from the server's own name.
    response = client.get("/openapi.json", environ_overrides={"HTTP_HOST": None})
    assert response.status_code == 200, shown(response)


# --- public_url -------------------------------------------------------------------------------


PUBLIC = "https://data.example.org"


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1:8000", "data.example.org"])
def test_with_public_url_every_url_comes_from_it_whatever_the_host(core, host):
    client = client_for(core, public_url=PUBLIC + "/")
    assert openapi_server(client.get("/openapi.json", headers={"Host": host})) == PUBLIC
    catalog = client.get("/catalog.nt", headers={"Host": host}).get_data(as_text=True)
    assert f"<{PUBLIC}/dumps/aigraph.ttl>" in catalog
    assert "localhost" not in catalog and "127.0.0.1" not in catalog
    void = client.get("/.well-known/void.nt", headers={"Host": host}).get_data(as_text=True)
    assert f"<{PUBLIC}/sparql>" in void
    listed = client.get("/queries", headers={"Host": host, "Accept": "application/json"})
    assert all(q["url"].startswith(f"{PUBLIC}/queries/") for q in listed.get_json()["queries"])
    described = client.get("/sparql", headers={"Host": host, "Accept": "text/turtle"})
    graph = Graph().parse(data=described.data, format="turtle")
    assert any(str(o) == f"{PUBLIC}/sparql" for o in graph.objects()), described.data[:400]
    landing = client.get("/", headers={"Host": host, "Accept": BROWSER})
    schema = landing.get_data(as_text=True).split('<script type="application/ld+json">')[1]
    schema = json.loads(schema.split("</script>")[0])
    assert PUBLIC in json.dumps(schema) and "localhost" not in json.dumps(schema)


def test_with_public_url_other_hosts_still_get_400(core):
    client = client_for(core, public_url=PUBLIC)
    assert client.get("/", headers={"Host": "evil.example"}).status_code == 400


@pytest.mark.parametrize(
    "value",
    [
        "data.example.org",
        "ftp://data.example.org",
        "https://data.example.org/sub",
        "https://x.org/?q",
        "https://",
    ],
)
def test_a_public_url_must_be_an_origin(core, value):
    with pytest.raises(UsageError, match="public_url"):
        client_for(core, public_url=value)


# --- caching ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", EMBEDDING)
def test_answers_built_from_host_are_not_publicly_cacheable(client, path):
    response = client.get(path)
    assert response.status_code == 200, shown(response)
    assert response.cache_control.private and not response.cache_control.public, shown(response)


@pytest.mark.parametrize("path", EMBEDDING)
def test_answers_built_from_public_url_may_be_cached_publicly(core, path):
    response = client_for(core, public_url=PUBLIC).get(path)
    assert response.status_code == 200, shown(response)
    assert not response.cache_control.private, shown(response)


def test_dumps_do_not_embed_the_host_and_stay_public(client):
    response = client.get("/dumps/aigraph.ttl")
    assert response.cache_control.public and not response.cache_control.private


# --- a real server: curl with Host, forwarded headers -----------------------------------------


@pytest.fixture(scope="module")
def plain_server():
    server = LiveServer("--max-rows", "100")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def proxied_server():
    server = LiveServer(
        "--max-rows",
        "100",
        "--trusted-proxy",
        "127.0.0.1",
        "--allowed-hosts",
        "127.0.0.1 public.example",
    )
    yield server
    server.stop()


def _get(url: str, headers: dict[str, str]) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_curl_with_a_foreign_host_gets_400(plain_server):
    for host in ("evil.example", f"127.0.0.1:{urlsplit(plain_server.url).port}"):
        answer = subprocess.run(
            [
                "curl",
                "-s",
                "-o",
                "-",
                "-w",
                "\n%{http_code}",
                "-H",
                f"Host: {host}",
                f"{plain_server.url}/openapi.json",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        body, _, status = answer.stdout.rpartition("\n")
        if host == "evil.example":
            assert status == "400" and json.loads(body)["error"] == "host-not-allowed", body
        else:
            assert status == "200", body
            assert json.loads(body)["servers"][0]["url"] == f"http://{host}"


def test_forwarded_headers_are_ignored_without_a_trusted_proxy(plain_server):
    status, body = _get(
        f"{plain_server.url}/openapi.json",
        {
            "X-Forwarded-Host": "public.example",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Port": "443",
        },
    )
    assert status == 200, body
    assert json.loads(body)["servers"][0]["url"] == plain_server.url


def test_forwarded_headers_are_honoured_from_the_trusted_proxy(proxied_server):
    status, body = _get(
        f"{proxied_server.url}/openapi.json",
        {
            "X-Forwarded-Host": "public.example",
            "X-Forwarded-Proto": "https",
        },
    )
    assert status == 200, body
    assert json.loads(body)["servers"][0]["url"] == "https://public.example"
    catalog = _get(
        f"{proxied_server.url}/catalog.nt",
        {
            "X-Forwarded-Host": "public.example",
            "X-Forwarded-Proto": "https",
        },
    )[1].decode()
    assert "<https://public.example/dumps/aigraph.ttl>" in catalog


def test_a_forwarded_host_must_be_allowed_too(proxied_server):
    status, body = _get(f"{proxied_server.url}/openapi.json", {"X-Forwarded-Host": "evil.example"})
    assert status == 400 and json.loads(body)["error"] == "host-not-allowed", body
