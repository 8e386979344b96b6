#!/usr/bin/env python3
"""fakeca.py - a misbehaving (and ARI-speaking) ACME CA for mailcert's tests.

This is a hand-written stand-in, used ONLY for the malformed-response
cases, for ARI and for ACME profiles: no real CA (Pebble included)
misbehaves on demand, Pebble 2.4 has no renewalInfo (RFC 9773), never
refuses "replaces" and has no profiles (draft-ietf-acme-profiles), and it
serves one directory path only, so the tests that need those talk to this
one instead (tests/unit/test_ari_fakeca.c, t_profile.sh, t_account_dirs.sh).
Every other test uses Pebble.

It is an HTTPS server (stdlib only: http.server + ssl) bound to 127.0.0.1.
It does not verify JWS signatures or nonces; it parses just enough of the
requests to answer. --mode selects the misbehaviour:

  500       directory and newNonce ok; newAccount and every other POST
            answer 500 with an RFC 7807 problem document (serverInternal)
  429       directory and newNonce ok; every POST answers 429 rateLimited
            with Retry-After: 1, forever (the client must give up at its
            deadline)
  badnonce  directory and newNonce ok; every POST answers 400 badNonce
            (with a fresh Replay-Nonce, as every answer), forever; a POST
            whose nonce this server never issued or already saw answers
            400 malformed "nonce reused" instead (the client must send each
            retry with the nonce of the last answer, and give up at its
            deadline)
  badjson   the directory is malformed JSON (200, application/json)
  html      the directory is an HTML error page (502, text/html)
  mismatch  a complete minimal ACME flow whose certificate is for ANOTHER
            key than the CSR's (the client must refuse to store it)
  ari       the ARI case (RFC 9773), which Pebble 2.4 does not implement:
            the directory has renewalInfo, and GET /renewal-info/<certID>
            answers by the certID's first part: "good" (a window, Retry-After
            3600), "noretry" (no Retry-After), "short" (Retry-After 5),
            "long" (Retry-After 200000), "huge" (999999), "expl" (with explanationURL),
            "offset" (+02:00 offsets and fractions), "inverted" (end before
            start), "empty" (start == end), "badtime" (not RFC 3339),
            "nowindow" (no suggestedWindow), "badjson"; anything else 404,
            or with --ari-default past|future a window in 2020 or 2030
  extra-authz  the mismatch flow, but the order's first authorization is
            for "unordered.example.org", a name the client did not ask for,
            and every authorization is pending (dns-01, http-01, tls-alpn-01
            offered) until its challenge is POSTed: a client must refuse it
            before any hook or responder publishes anything for it
  future    the mismatch flow, but the certificate is for the CSR's key
            and only valid from 300 days ahead (notBefore in the future;
            Pebble always issues from now)
  replaces  the mismatch flow, but newOrder refuses a "replaces" field by the
            first identifier: "replaced.test" 409 alreadyReplaced the first
            time, "malformed.test" 400 malformed naming "replaces" the first
            time, "always.test" 409 alreadyReplaced every time,
            "other.test" 400 malformed about something else. GET /order-log
            lists the "replaces" value (or null) of every newOrder so far.
  good      a complete minimal flow that issues a real certificate for the
            CSR (signed by the fake CA, SANs copied); GET /order-log lists
            the "profile" value (or null) of every newOrder
  profiles  "good" with meta.profiles {"classic", "tlsserver"} in the
            directory; newOrder with another profile answers 400
            invalidProfile

Every URL may be prefixed with /p/NAME (a second, third... directory on the
same host: /p/NAME/dir), each with its own account URL (/p/NAME/acct/1)
and its own newAccount count (GET /p/NAME/acct-count).

With --port 0 the kernel picks the port; --port-file then receives it.

Requests are logged on stderr (one line each).
"""

import argparse
import base64
import http.server
import json
import os
import ssl
import subprocess
import sys
import threading
import time

PROBLEM = "application/problem+json"


def b64url_decode(text):
    """b64url_decode - decode unpadded base64url."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class State:
    """State - what the mismatch flow remembers between requests."""

    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.nonce = 0
        self.used_nonces = set()
        self.identifiers = []
        self.order_status = "ready"
        self.chain_pem = b""
        self.order_log = []
        self.responded = set()
        self.accounts = {}


class Handler(http.server.BaseHTTPRequestHandler):
    """Handler - answers every request according to the server's mode."""

    server_version = "fakeca/1"
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("fakeca: " + (fmt % args) + "\n")

    # ---- helpers -------------------------------------------------------

    def base(self):
        return "https://127.0.0.1:%d%s" % (self.server.server_address[1],
                                           getattr(self, "prefix", ""))

    def split_prefix(self):
        """split_prefix - strip /p/NAME from self.path into self.prefix."""
        self.prefix = ""
        if self.path.startswith("/p/"):
            rest = self.path[3:]
            name, _, tail = rest.partition("/")
            self.prefix = "/p/" + name
            self.path = "/" + tail

    def next_nonce(self):
        st = self.server.state
        with st.lock:
            st.nonce += 1
            return "fakenonce%08d" % st.nonce

    def send(self, status, body=b"", ctype=None, headers=None):
        self.send_response(status)
        self.send_header("Replay-Nonce", self.next_nonce())
        self.send_header("Cache-Control", "no-store")
        if ctype:
            self.send_header("Content-Type", ctype)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, status, obj, headers=None, ctype="application/json"):
        self.send(status, json.dumps(obj).encode(), ctype, headers)

    def problem(self, status, ptype, detail, headers=None):
        self.send_json(status, {"type": "urn:ietf:params:acme:error:" + ptype,
                                "detail": detail, "status": status},
                       headers, PROBLEM)

    def read_jws_payload(self):
        """read_jws_payload - the decoded JWS payload (dict, or None for POST-as-GET)."""
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(min(length, 1 << 20)) if length else b""
        try:
            payload = json.loads(raw or b"{}").get("payload", "")
            return json.loads(b64url_decode(payload)) if payload else None
        except (ValueError, AttributeError):
            return None

    def nonce_fresh(self):
        """nonce_fresh - whether the JWS carries a nonce issued here and
        not seen before (it is then used up)."""
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(min(length, 1 << 20)) if length else b""
        try:
            prot = json.loads(b64url_decode(json.loads(raw).get("protected", "")))
            nonce = prot.get("nonce", "")
        except (ValueError, AttributeError):
            return False
        st = self.server.state
        with st.lock:
            issued = nonce.startswith("fakenonce") and \
                nonce[9:].isdigit() and 0 < int(nonce[9:]) <= st.nonce
            if not issued or nonce in st.used_nonces:
                return False
            st.used_nonces.add(nonce)
        return True

    def directory(self):
        b = self.base()
        meta = {"termsOfService": b + "/tos"}
        if self.server.state.args.mode == "profiles":
            meta["profiles"] = {"classic": "the usual 90 days",
                                "tlsserver": "serverAuth only, 6 days"}
        return {"newNonce": b + "/nonce", "newAccount": b + "/acct",
                "newOrder": b + "/order", "revokeCert": b + "/revoke",
                "keyChange": b + "/keychange",
                "meta": meta} | (
                    {"renewalInfo": b + "/renewal-info"}
                    if self.server.state.args.mode == "ari" else {})

    # ---- verbs ---------------------------------------------------------

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        mode = self.server.state.args.mode
        self.split_prefix()
        if self.path == "/acct-count":
            with self.server.state.lock:
                n = self.server.state.accounts.get(self.prefix, 0)
            self.send_json(200, {"accounts": n})
            return
        if self.path == "/dir":
            if mode == "badjson":
                body = b'{"newNonce": "' + self.base().encode() + b'/nonce", "newAccount": '
                self.send(200, body, "application/json")
            elif mode == "html":
                body = (b"<html><head><title>502 Bad Gateway</title></head><body>"
                        b"<h1>502 Bad Gateway</h1><hr>nginx</body></html>\n")
                self.send(502, body, "text/html")
            else:
                self.send_json(200, self.directory())
            return
        if mode == "ari" and self.path.startswith("/renewal-info/"):
            self.renewal_info(self.path[len("/renewal-info/"):])
        elif mode in ("replaces", "good", "profiles") and self.path == "/order-log":
            with self.server.state.lock:
                log = list(self.server.state.order_log)
            self.send_json(200, {"replaces": log})
        else:
            self.misbehave_or(self.flow_get)

    def do_POST(self):
        self.split_prefix()
        self.misbehave_or(self.flow_post)

    def misbehave_or(self, flow):
        mode = self.server.state.args.mode
        if self.path == "/nonce" and mode in ("500", "429", "badnonce"):
            self.send(204 if self.command == "GET" else 200)
        elif mode == "badnonce":
            if self.nonce_fresh():
                self.problem(400, "badNonce", "fakeca: JWS has an invalid anti-replay nonce")
            else:
                self.problem(400, "malformed", "fakeca: nonce reused or never issued")
        elif mode == "500":
            self.read_jws_payload()
            self.problem(500, "serverInternal", "fakeca: the database is on fire")
        elif mode == "429":
            self.read_jws_payload()
            self.problem(429, "rateLimited", "fakeca: too many requests, retry later",
                         {"Retry-After": "1"})
        elif mode in ("mismatch", "replaces", "good", "profiles", "extra-authz", "future"):
            flow()
        else:
            self.problem(404, "malformed", "fakeca: no such resource")

    # ---- the minimal ACME flow of mode "mismatch" ------------------------

    def flow_get(self):
        if self.path == "/nonce":
            self.send(204)
        else:
            self.problem(405, "malformed", "fakeca: use POST")

    def authz_identifiers(self):
        """authz_identifiers - the identifier of each authorization, in order."""
        st = self.server.state
        if st.args.mode == "extra-authz":
            return [{"type": "dns", "value": "unordered.example.org"}] + st.identifiers
        return st.identifiers

    def order_obj(self):
        st = self.server.state
        b = self.base()
        n_authz = len(self.authz_identifiers())
        obj = {"status": st.order_status, "identifiers": st.identifiers,
               "authorizations": [b + "/authz/%d" % i for i in range(n_authz)],
               "finalize": b + "/finalize/1",
               "expires": "2099-01-01T00:00:00Z"}
        if st.order_status == "valid":
            obj["certificate"] = b + "/cert/1"
        return obj

    def flow_post(self):
        st = self.server.state
        payload = self.read_jws_payload()
        b = self.base()
        path = self.path
        if path == "/acct" or path.startswith("/acct/"):
            if path == "/acct":
                with st.lock:
                    st.accounts[self.prefix] = st.accounts.get(self.prefix, 0) + 1
            self.send_json(201 if path == "/acct" else 200,
                           {"status": "valid", "contact": (payload or {}).get("contact", []),
                            "orders": b + "/acct/1/orders"},
                           {"Location": b + "/acct/1"})
        elif path == "/order":
            if self.refuse_replaces(payload or {}) or self.refuse_profile(payload or {}):
                return
            st.identifiers = (payload or {}).get("identifiers", [])
            st.order_status = "pending" if st.args.mode == "extra-authz" else "ready"
            st.responded = set()
            self.send_json(201, self.order_obj(), {"Location": b + "/order/1"})
        elif path == "/order/1":
            self.send_json(200, self.order_obj(), {"Location": b + "/order/1"})
        elif path.startswith("/authz/"):
            self.authz(int(path.rsplit("/", 1)[1]))
        elif path.startswith("/chall/"):
            parts = path.split("/")
            if len(parts) > 3:  # /chall/<index>/<type>: the client says it is ready
                st.responded.add(int(parts[2]))
                if len(st.responded) >= len(self.authz_identifiers()):
                    st.order_status = "ready"
            self.send_json(200, {"type": parts[3] if len(parts) > 3 else "http-01",
                                 "status": "valid", "url": b + path,
                                 "token": "fakeToken"})
        elif path == "/finalize/1" and st.args.mode == "future":
            st.chain_pem = make_future_chain(st.args.workdir, st.identifiers,
                                             (payload or {}).get("csr", ""))
            st.order_status = "valid"
            self.send_json(200, self.order_obj(), {"Location": b + "/order/1"})
        elif path == "/finalize/1":
            if st.args.mode in ("good", "profiles"):
                st.chain_pem = sign_csr(st.args.workdir, (payload or {}).get("csr", ""))
            else:
                st.chain_pem = make_mismatched_chain(st.args.workdir, st.identifiers)
            st.order_status = "valid"
            self.send_json(200, self.order_obj(), {"Location": b + "/order/1"})
        elif path == "/cert/1":
            self.send(200, st.chain_pem, "application/pem-certificate-chain")
        else:
            self.problem(404, "malformed", "fakeca: no such resource " + path)

    def refuse_profile(self, payload):
        """refuse_profile - modes good/profiles: log the profile, refuse an unknown one."""
        st = self.server.state
        if st.args.mode not in ("good", "profiles"):
            return False
        profile = payload.get("profile")
        with st.lock:
            st.order_log.append(profile)
        offered = self.directory()["meta"].get("profiles", {})
        if profile is not None and profile not in offered:
            self.problem(400, "invalidProfile", "fakeca: no profile %r" % profile)
            return True
        return False

    def refuse_replaces(self, payload):
        """refuse_replaces - mode replaces: log the order, maybe refuse it (True)."""
        st = self.server.state
        if st.args.mode != "replaces":
            return False
        ids = payload.get("identifiers") or [{}]
        first = ids[0].get("value", "") if isinstance(ids[0], dict) else ""
        replaces = payload.get("replaces")
        with st.lock:
            st.order_log.append(replaces)
            tries = sum(1 for r in st.order_log if r is not None)
        if replaces is None:
            if first == "always.test":
                self.problem(409, "alreadyReplaced", "fakeca: always refused")
                return True
            return False
        if first == "replaced.test" and tries == 1:
            self.problem(409, "alreadyReplaced",
                         "fakeca: certificate %s is already replaced" % replaces)
        elif first == "malformed.test" and tries == 1:
            self.problem(400, "malformed", "fakeca: unknown certificate in replaces")
        elif first == "always.test":
            self.problem(409, "alreadyReplaced", "fakeca: always refused")
        elif first == "other.test":
            self.problem(400, "malformed", "fakeca: identifiers are not acceptable")
        else:
            return False
        return True

    def renewal_info(self, cert_id):
        """renewal_info - mode ari: the canned answer for cert_id's first part."""
        kind = cert_id.split(".", 1)[0]
        window = {"start": "2030-01-01T00:00:00Z", "end": "2030-01-03T00:00:00Z"}
        body, headers = {"suggestedWindow": window}, {"Retry-After": "3600"}
        if kind == "noretry":
            headers = {}
        elif kind == "short":
            headers = {"Retry-After": "5"}
        elif kind == "long":
            headers = {"Retry-After": "200000"}
        elif kind == "huge":
            headers = {"Retry-After": "999999"}
        elif kind == "expl":
            body["explanationURL"] = "https://ca.example/incident/42"
        elif kind == "offset":
            body["suggestedWindow"] = {"start": "2030-01-01T02:00:00.250+02:00",
                                       "end": "2030-01-02T19:00:00-05:00"}
        elif kind == "inverted":
            body["suggestedWindow"] = {"start": window["end"], "end": window["start"]}
        elif kind == "empty":
            body["suggestedWindow"] = {"start": window["start"], "end": window["start"]}
        elif kind == "badtime":
            body["suggestedWindow"] = {"start": "2030-01-01 00:00", "end": window["end"]}
        elif kind == "nowindow":
            body = {"explanationURL": "https://ca.example/"}
        elif kind == "badjson":
            self.send(200, b'{"suggestedWindow": {', "application/json", headers)
            return
        elif kind != "good" and self.server.state.args.ari_default == "past":
            body["suggestedWindow"] = {"start": "2020-01-01T00:00:00Z",
                                       "end": "2020-01-02T00:00:00Z"}
        elif kind != "good" and self.server.state.args.ari_default != "future":
            self.problem(404, "malformed", "fakeca: no renewal info for " + cert_id)
            return
        self.send_json(200, body, headers)

    def authz(self, index):
        st = self.server.state
        idents = self.authz_identifiers()
        if index >= len(idents):
            self.problem(404, "malformed", "fakeca: no such authorization")
            return
        if st.args.mode == "extra-authz":
            status = "valid" if index in st.responded else "pending"
            self.send_json(200, {
                "status": status, "identifier": idents[index],
                "expires": "2099-01-01T00:00:00Z",
                "challenges": [{"type": t, "status": status,
                                "url": self.base() + "/chall/%d/%s" % (index, t),
                                "token": "fakeToken%d%s" % (index, t[:4])}
                               for t in ("dns-01", "http-01", "tls-alpn-01")]})
            return
        self.send_json(200, {
            "status": "valid", "identifier": st.identifiers[index],
            "expires": "2099-01-01T00:00:00Z",
            "challenges": [{"type": "http-01", "status": "valid",
                            "url": self.base() + "/chall/%d" % index,
                            "token": "fakeToken%d" % index,
                            "validated": "2024-01-01T00:00:00Z"}]})


def openssl(*argv):
    """openssl - run the openssl command line tool, raising on failure."""
    subprocess.run(("openssl",) + argv, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def fake_ca(workdir):
    """fake_ca - the self-signed issuer in workdir (made once)."""
    os.makedirs(workdir, exist_ok=True)
    p = lambda name: os.path.join(workdir, name)  # noqa: E731
    if not os.path.exists(p("ca.pem")):
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-keyout", p("ca.key"), "-out", p("ca.pem"), "-days", "2",
                "-subj", "/CN=fakeca intermediate",
                "-addext", "basicConstraints=critical,CA:TRUE")
    return p


def sign_csr(workdir, csr_b64url):
    """sign_csr - leaf for the CSR (its key and SANs) + issuer, as PEM."""
    p = fake_ca(workdir)
    with open(p("req.der"), "wb") as f:
        f.write(b64url_decode(csr_b64url))
    openssl("x509", "-req", "-inform", "DER", "-in", p("req.der"), "-CA", p("ca.pem"),
            "-CAkey", p("ca.key"), "-CAcreateserial", "-days", "2",
            "-copy_extensions", "copy", "-out", p("leaf.pem"))
    with open(p("leaf.pem"), "rb") as leaf, open(p("ca.pem"), "rb") as ca:
        return leaf.read() + ca.read()


def make_mismatched_chain(workdir, identifiers):
    """make_mismatched_chain - leaf (for a fresh, unrelated key) + issuer, as PEM."""
    p = fake_ca(workdir)
    names = [i.get("value", "") for i in identifiers if isinstance(i, dict)] or ["x.test"]
    with open(p("leaf.cnf"), "w", encoding="ascii") as f:
        f.write("subjectAltName=" + ",".join("DNS:" + n for n in names) + "\n")
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", p("other.key"), "-out", p("leaf.csr"), "-subj", "/CN=" + names[0])
    openssl("x509", "-req", "-in", p("leaf.csr"), "-CA", p("ca.pem"), "-CAkey", p("ca.key"),
            "-CAcreateserial", "-days", "2", "-extfile", p("leaf.cnf"), "-out", p("leaf.pem"))
    with open(p("leaf.pem"), "rb") as leaf, open(p("ca.pem"), "rb") as ca:
        return leaf.read() + ca.read()


def make_future_chain(workdir, identifiers, csr_b64):
    """make_future_chain - the CSR signed with notBefore 300 days ahead
    (openssl ca: openssl x509 in OpenSSL 3.0 cannot set notBefore)."""
    p = fake_ca(workdir)
    names = [i.get("value", "") for i in identifiers if isinstance(i, dict)] or ["x.test"]
    with open(p("leaf.cnf"), "w", encoding="ascii") as f:
        f.write("subjectAltName=" + ",".join("DNS:" + n for n in names) + "\n")
    with open(p("req.der"), "wb") as f:
        f.write(b64url_decode(csr_b64))
    openssl("req", "-inform", "DER", "-in", p("req.der"), "-out", p("req.pem"))
    with open(p("index.txt"), "w", encoding="ascii"):
        pass
    with open(p("ca.cnf"), "w", encoding="ascii") as f:
        f.write("[ca]\ndefault_ca = fake\n[fake]\ndatabase = %s\n"
                "new_certs_dir = %s\nserial = %s\ndefault_md = sha256\n"
                "policy = anything\nunique_subject = no\n"
                "[anything]\ncommonName = optional\n"
                % (p("index.txt"), workdir, p("serial")))
    with open(p("serial"), "w", encoding="ascii") as f:
        f.write("%032x\n" % int.from_bytes(os.urandom(15), "big"))
    start = time.gmtime(time.time() + 300 * 86400)
    end = time.gmtime(time.time() + 400 * 86400)
    openssl("ca", "-batch", "-config", p("ca.cnf"), "-cert", p("ca.pem"),
            "-keyfile", p("ca.key"), "-in", p("req.pem"), "-out", p("future.pem"),
            "-extfile", p("leaf.cnf"), "-notext", "-subj", "/CN=future",
            "-startdate", time.strftime("%Y%m%d%H%M%SZ", start),
            "-enddate", time.strftime("%Y%m%d%H%M%SZ", end))
    with open(p("future.pem"), "rb") as leaf, open(p("ca.pem"), "rb") as ca:
        return leaf.read() + ca.read()


def main():
    """main - parse arguments and serve until killed."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--mode", required=True,
                    choices=["500", "429", "badnonce", "badjson", "html", "mismatch", "ari",
                             "replaces", "good", "profiles", "extra-authz", "future"])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--port-file", help="write the bound port here")
    ap.add_argument("--ari-default", choices=["past", "future"],
                    help="mode ari: answer any other certID with a window in "
                         "2020 (due) or 2030 (not due) instead of 404")
    args = ap.parse_args()

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    httpd.state = State(args)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    port = httpd.server_address[1]
    if args.port_file:
        with open(args.port_file + ".tmp", "w", encoding="ascii") as f:
            f.write("%d\n" % port)
        os.rename(args.port_file + ".tmp", args.port_file)
    sys.stderr.write("fakeca: mode %s on https://127.0.0.1:%d/dir\n" % (args.mode, port))
    sys.stderr.flush()
    httpd.serve_forever()


if __name__ == "__main__":
    main()
