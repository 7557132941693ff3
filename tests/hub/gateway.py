"""A stand-in for the hub's gateway in wfop's hub tests: an OAuth2 token endpoint (client
credentials in HTTP basic auth, as the platform's qhub-service SDK sends them) in front of a
qhub-serve, which it proxies for requests with a valid bearer token.

Credentials come from the environment, never argv: GW_KEY_ID and GW_SECRET (the client),
GW_BEARER (a static token also accepted), GW_LIFETIME (seconds a fetched token lives),
GW_EXPECT_SECRETS (the `$secrets` object the start request must carry, as JSON); with
GW_LOG_SECRET set, the gateway answers `GET /{id}/log` itself for executions started with
`$secrets` (qhub-serve's is always null): the whole log so far, one more entry per request,
the second a WARNING holding that secret. GW_START_DELAY: seconds to wait before passing on
a start. GW_REVOKE_FIRST=1: the first token granted is revoked after three requests.
Usage: gateway.py UPSTREAM_URL RECORD_FILE. Prints the port it listens on, then serves until
killed. RECORD_FILE gets counts of what it saw (never a credential)."""

import base64
import json
import os
import secrets
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

UPSTREAM = sys.argv[1].rstrip("/")
RECORD = sys.argv[2]
KEY_ID = os.environ.get("GW_KEY_ID", "")
SECRET = os.environ.get("GW_SECRET", "")
BEARER = os.environ.get("GW_BEARER", "")
LIFETIME = float(os.environ.get("GW_LIFETIME", "3600"))
EXPECT_SECRETS = json.loads(os.environ.get("GW_EXPECT_SECRETS", "null"))
LOG_SECRET = os.environ.get("GW_LOG_SECRET")
START_DELAY = float(os.environ.get("GW_START_DELAY", "0"))
REVOKE_FIRST = os.environ.get("GW_REVOKE_FIRST") == "1"

lock = threading.Lock()
tokens = {}  # token -> expiry (time.monotonic())
log_calls = {}  # log path -> log requests so far
log_paths = set()  # the log paths of executions started with `$secrets`
uses = {}  # token -> authorized requests with it
first_token = []  # the first token granted
seen = {
    "token_requests": 0,
    "tokens_granted": 0,
    "credentials_refused": 0,
    "grant_type_ok": 0,
    "api_authorized": 0,
    "api_unauthorized": 0,
    "expired_token_refused": 0,
    "static_token_used": 0,
    "starts": 0,
    "starts_with_expected_secrets": 0,
    "log_answers": 0,
    "revoked_token_refused": 0,
}


def count(key):
    with lock:
        seen[key] += 1
        with open(RECORD + ".tmp", "w") as f:
            json.dump(seen, f)
        os.replace(RECORD + ".tmp", RECORD)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def token(self):
        count("token_requests")
        body = urllib.parse.parse_qs(self.body().decode())
        if body.get("grant_type") == ["client_credentials"]:
            count("grant_type_ok")
        auth = self.headers.get("Authorization", "")
        ok = False
        if auth.startswith("Basic "):
            try:
                pair = base64.b64decode(auth[6:]).decode()
                user, _, password = pair.partition(":")
                ok = urllib.parse.unquote(user) == KEY_ID and urllib.parse.unquote(password) == SECRET
            except Exception:
                ok = False
        if not ok or body.get("grant_type") != ["client_credentials"]:
            count("credentials_refused")
            doc = {"error": "invalid_client", "error_description": "bad client credentials"}
            return self.reply(401, json.dumps(doc).encode(), [("Content-Type", "application/json")])
        token = "tok-" + secrets.token_hex(16)
        with lock:
            tokens[token] = time.monotonic() + LIFETIME
            if not first_token:
                first_token.append(token)
        count("tokens_granted")
        doc = {"access_token": token, "token_type": "Bearer", "expires_in": LIFETIME}
        self.reply(200, json.dumps(doc).encode(), [("Content-Type", "application/json")])

    def authorized(self):
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return False
        token = auth[7:]
        if BEARER and token == BEARER:
            count("static_token_used")
            return True
        with lock:
            expiry = tokens.get(token)
        if expiry is None:
            return False
        if time.monotonic() >= expiry:
            count("expired_token_refused")
            return False
        with lock:
            uses[token] = uses.get(token, 0) + 1
            revoked = REVOKE_FIRST and first_token == [token] and uses[token] > 3
        if revoked:
            count("revoked_token_refused")
            return False
        return True

    def proxy(self, method):
        if self.path == "/token" and method == "POST":
            return self.token()
        data = self.body()
        if not self.authorized():
            count("api_unauthorized")
            return self.reply(401, b'{"detail":"Unauthorized"}', [("Content-Type", "application/json")])
        count("api_authorized")
        if LOG_SECRET and method == "GET" and self.path in log_paths:
            return self.log()
        if method == "POST" and self.path == "/":
            count("starts")
            time.sleep(START_DELAY)
            if EXPECT_SECRETS is not None and json.loads(data).get("$secrets") == EXPECT_SECRETS:
                count("starts_with_expected_secrets")
        req = urllib.request.Request(UPSTREAM + self.path, data=data if data else None, method=method)
        if data:
            req.add_header("Content-Type", self.headers.get("Content-Type", "application/json"))
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                status, body, headers = r.status, r.read(), r.headers
        except urllib.error.HTTPError as e:
            status, body, headers = e.code, e.read(), e.headers
        if method == "POST" and self.path == "/" and "$secrets" in json.loads(data) and status == 201:
            with lock:
                log_paths.add("/" + json.loads(body)["id"] + "/log")
        keep = [(k, v) for k, v in headers.items() if k.lower() in ("content-type", "location")]
        self.reply(status, body, keep)

    def log(self):
        """The whole log so far, grown by one entry per request (at most six)."""
        with lock:
            n = log_calls.get(self.path, 0) + 1
            log_calls[self.path] = n
        entries = []
        for i in range(1, min(n, 6) + 1):
            if i == 2:
                entries.append({"message": f"the token is {LOG_SECRET}", "severity": "WARNING", "timestamp": "t2"})
            else:
                entries.append({"message": f"step {i}", "severity": "INFO", "timestamp": f"t{i}"})
        count("log_answers")
        self.reply(200, json.dumps(entries).encode(), [("Content-Type", "application/json")])

    def do_GET(self):
        self.proxy("GET")

    def do_POST(self):
        self.proxy("POST")

    def do_PUT(self):
        self.proxy("PUT")


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(RECORD, "w") as f:
    json.dump(seen, f)
print(server.server_address[1], flush=True)
server.serve_forever()
