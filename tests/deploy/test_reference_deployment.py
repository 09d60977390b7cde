"""The reference deployment (deploy/): TLS in front, the internal API and /metrics on an
internal listener only, proxy timeouts that fit the API, no query strings in the logs."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from gateway.store import messages
from tests.deploy import nginxconf

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
CONF = nginxconf.parse((DEPLOY / "nginx.conf").read_text())
SERVERS = CONF.all("server")
COMPOSE = yaml.safe_load((DEPLOY / "compose.yaml").read_text())

# What WeChat's servers and followers' browsers must reach: callbacks and pay notifications,
# OAuth, the event pages OAuth leads to.
PUBLIC_PATHS = (
    "/wechat/acme",
    "/wechat/acme/pay/notify",
    "/oauth/acme/authorize",
    "/oauth/acme/callback",
    "/events/acme/spring-fair/register",
)
INTERNAL_PATHS = ("/api/v1/accounts", "/api/openapi.json", "/metrics", "/readyz")
# Log variables that carry the query string (signature, nonce, openid; OAuth's one-time code).
QUERY = re.compile(r"\$(request|request_uri|args|query_string|is_args|arg_\w+)\b")
QUIET = ("crit", "alert", "emerg")  # error log lines quote the request line, query included


def _ports(server: nginxconf.Directive) -> set[int]:
    return {int(re.split(r"[:\]]", d.args[0])[-1]) for d in server.all("listen")}


def _published() -> dict[int, set[str]]:
    """Container port of the proxy -> the host addresses it is published on ("" = all)."""
    found: dict[int, set[str]] = {}
    for entry in COMPOSE["services"]["proxy"].get("ports", []):
        parts = str(entry).split(":")
        host = parts[0] if len(parts) == 3 else ""
        found.setdefault(int(parts[-1].split("/")[0]), set()).add(host)
    return found


def _public(server: nginxconf.Directive) -> bool:
    published = _published()
    return any(
        published.get(port, set()) - {"127.0.0.1", "::1", "[::1]"} for port in _ports(server)
    )


def _location(server: nginxconf.Directive, path: str) -> nginxconf.Directive | None:
    """The location nginx selects for `path`: exact, else the longest prefix unless a regex
    matches first (a `^~` prefix stops the regex search)."""
    locations = server.all("location")
    for loc in locations:
        if loc.args[0] == "=" and nginxconf.location_matches(loc, path):
            return loc
    prefixes = [
        loc
        for loc in locations
        if loc.args[0] not in ("=", "~", "~*") and nginxconf.location_matches(loc, path)
    ]
    longest = max(prefixes, key=lambda loc: len(loc.args[-1]), default=None)
    if longest is not None and longest.args[0] == "^~":
        return longest
    for loc in locations:
        if loc.args[0] in ("~", "~*") and nginxconf.location_matches(loc, path):
            return loc
    return longest


def _proxies(server: nginxconf.Directive, path: str) -> bool:
    loc = _location(server, path)
    return loc is not None and loc.first("proxy_pass") is not None


def _inherited(server: nginxconf.Directive, path: str, name: str) -> list[nginxconf.Directive]:
    """The `name` directives in effect for `path`: the location's, else the server's, else
    the file's (http level); empty: nginx's default (or the image's nginx.conf)."""
    loc = _location(server, path)
    for level in (loc, server, CONF):
        if level is not None and level.all(name):
            return level.all(name)
    return []


def test_the_public_side_is_tls_only() -> None:
    public = [s for s in SERVERS if _public(s)]
    assert public, "no server is published"
    for server in public:
        if any("ssl" in d.args for d in server.all("listen")):
            assert server.first("ssl_certificate") and server.first("ssl_certificate_key")
            continue
        # Plain HTTP serves nothing: every request is redirected to HTTPS.
        assert not any(d.name == "proxy_pass" for d in server.walk()), server.all("listen")
        returns = [d.args for d in server.walk() if d.name == "return"]
        assert returns and all(r[0] == "301" and r[1].startswith("https://") for r in returns)
    for path in PUBLIC_PATHS:
        assert any(
            _proxies(s, path) and any("ssl" in d.args for d in s.all("listen")) for s in public
        ), path


def test_the_internal_api_and_metrics_are_only_on_an_internal_listener() -> None:
    for path in (*INTERNAL_PATHS, "/", "/mock-wechat/_mock/accounts", "/console"):
        serving = [s for s in SERVERS if _proxies(s, path)]
        assert not [s for s in serving if _public(s)], f"{path} is proxied on a public listener"
    for path in INTERNAL_PATHS:
        assert [s for s in SERVERS if _proxies(s, path)], f"{path} is not proxied at all"


def test_the_api_read_timeout_covers_its_longest_request() -> None:
    # The longest API request: a service account's `all` mass, whose fan-out statement may
    # take up to FAN_OUT_TIMEOUT; a proxy giving up earlier answers 504 for a message that
    # is then queued anyway.
    path = "/api/v1/accounts/acme/messages"
    for server in [s for s in SERVERS if _proxies(s, path)]:
        found = _inherited(server, path, "proxy_read_timeout")
        timeout = nginxconf.seconds(found[-1].args[0]) if found else 60.0  # nginx's default
        assert timeout > messages.FAN_OUT_TIMEOUT, (timeout, messages.FAN_OUT_TIMEOUT)


def test_public_requests_are_logged_without_query_strings() -> None:
    formats = {d.args[0]: " ".join(d.args[1:]) for d in CONF.all("log_format")}
    for server in SERVERS:
        paths = [p for p in PUBLIC_PATHS if _proxies(server, p)]
        if _public(server):
            paths.append("/wechat/acme")  # also the plain-HTTP redirect, if any
        for path in paths:
            logs = _inherited(server, path, "access_log")
            assert logs, f"{path}: the image's default access log format holds the query"
            for log in logs:
                if log.args == ["off"]:
                    continue
                assert len(log.args) >= 2 and log.args[1] in formats, log.args
                assert not QUERY.search(formats[log.args[1]]), formats[log.args[1]]
            errors = _inherited(server, path, "error_log")
            assert errors and all(e.args[-1] in QUIET for e in errors), [e.args for e in errors]


def _self_signed(folder: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "wechat.example.com")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    folder.mkdir()
    (folder / "fullchain.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "privkey.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def test_nginx_accepts_the_configuration(tmp_path: Path) -> None:
    nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if nginx is None:
        pytest.skip("nginx is not installed (Debian: apt-get install nginx-light)")
    # As the image includes it (conf.d/*.conf inside http {}), with this machine's paths:
    # the compose service name `serve` does not resolve here, the certificates are made here.
    _self_signed(tmp_path / "tls")
    text = (DEPLOY / "nginx.conf").read_text()
    text = text.replace("server serve:8080", "server 127.0.0.1:8080")
    text = text.replace("/etc/nginx/tls/", f"{tmp_path}/tls/")
    (tmp_path / "default.conf").write_text(text)
    temp = "".join(
        f"{kind}_temp_path {tmp_path}/{kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n{temp}access_log {tmp_path}/access.log;\ninclude {tmp_path}/default.conf;\n}}\n"
    )
    result = subprocess.run(
        [
            nginx,
            "-t",
            "-q",
            "-p",
            str(tmp_path),
            "-e",
            f"{tmp_path}/error.log",
            "-c",
            str(tmp_path / "nginx.conf"),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
