#!/usr/bin/env python3
"""acme_authz.py - deactivate the valid authorizations of mailcert's ACME
accounts at a real ACME server (RFC 8555 section 7.5.2), so that the next
order of the same identifiers asks a challenge again.

Why: Pebble hands a new order a still-valid authorization of the same
account and identifier instead of a fresh one. PEBBLE_AUTHZREUSE=0 does not
prevent it: Pebble creates a fresh authorization only when
rand.Intn(100) > percent (wfe/wfe.go makeAuthorizations), so with 0 about
1 order in 100 still gets the old, valid authorization and asks no
challenge. A deactivated authorization is never reused (FindValidAuthorization
takes status "valid" only), whatever the percentage.

Usage:
  acme_authz.py deactivate --cacert CA --directory URL [--pebble-log LOG]
                ACCOUNT_DIR...
  acme_authz.py register --cacert CA --directory URL KEY...

Each ACCOUNT_DIR is a mailcert account folder (account.key, account.json
with "url" and "directory"); folders of another directory are left alone,
missing ones are skipped. The authorizations are found through the account's
"orders" list (RFC 8555 section 7.1.2.1). Pebble lists no invalid order, yet
such an order may hold a valid authorization (one name validated, another
failed): with --pebble-log, the authorizations Pebble's log says it set
valid are looked at too (those of another account answer 403 and are
skipped). Prints one line per account on stderr; exit 0, or 1 with the
reason (a request the server refused, a file that cannot be read).

"register" makes each private key KEY (PEM) an account of its own
(newAccount, RFC 8555 section 7.3): a CA then refuses a CSR of that key
("CSR contains a public key for a known account"), a way to make one order
of a run fail at finalize whatever the CA decides about its authorizations.

Only the standard library and python3-cryptography.
"""
import argparse
import base64
import json
import os
import re
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

TIMEOUT = 10
NONCE_TRIES = 20
MAX_PAGES = 1000


class AcmeError(Exception):
    """A request the server refused, or an answer we cannot use."""


def b64u(data):
    """base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def int_bytes(n, size):
    return n.to_bytes(size, "big")


class Signer:
    """The JWS signature of one account key (ES256/384/512 or RS256)."""

    CURVES = {"secp256r1": ("P-256", "ES256", hashes.SHA256(), 32),
              "secp384r1": ("P-384", "ES384", hashes.SHA384(), 48),
              "secp521r1": ("P-521", "ES512", hashes.SHA512(), 66)}

    def __init__(self, path):
        with open(path, "rb") as f:
            self.key = serialization.load_pem_private_key(f.read(), None)
        if isinstance(self.key, ec.EllipticCurvePrivateKey):
            if self.key.curve.name not in self.CURVES:
                raise AcmeError(f"{path}: unsupported curve {self.key.curve.name}")
            crv, self.alg, self.hash, self.size = self.CURVES[self.key.curve.name]
            pub = self.key.public_key().public_numbers()
            self.jwk = {"crv": crv, "kty": "EC",
                        "x": b64u(int_bytes(pub.x, self.size)),
                        "y": b64u(int_bytes(pub.y, self.size))}
        elif isinstance(self.key, rsa.RSAPrivateKey):
            self.alg = "RS256"
            pub = self.key.public_key().public_numbers()
            self.jwk = {"e": b64u(int_bytes(pub.e, (pub.e.bit_length() + 7) // 8)),
                        "kty": "RSA",
                        "n": b64u(int_bytes(pub.n, (pub.n.bit_length() + 7) // 8))}
        else:
            raise AcmeError(f"{path}: not an EC or RSA private key")

    def sign(self, data):
        if self.alg == "RS256":
            return self.key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        r, s = decode_dss_signature(self.key.sign(data, ec.ECDSA(self.hash)))
        return int_bytes(r, self.size) + int_bytes(s, self.size)


class Client:
    """JWS POSTs to one ACME server as one account, retrying badNonce."""

    def __init__(self, directory, cacert, signer, kid):
        self.ctx = ssl.create_default_context(cafile=cacert)
        self.signer = signer
        self.kid = kid
        self.nonce = None
        status, _, body = self.request("GET", directory)
        try:
            self.dir = json.loads(body) if status == 200 else {}
        except ValueError:
            self.dir = {}
        if not isinstance(self.dir, dict) or "newNonce" not in self.dir:
            raise AcmeError(f"{directory}: not an ACME directory (HTTP {status})")

    def request(self, method, url, data=None):
        req = urllib.request.Request(url, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/jose+json")
        try:
            with urllib.request.urlopen(req, timeout=TIMEOUT, context=self.ctx) as r:
                status, headers, body = r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            status, headers, body = e.code, e.headers, e.read()
        except (urllib.error.URLError, OSError) as e:
            raise AcmeError(f"{method} {url}: {e}") from e
        if headers.get("Replay-Nonce"):
            self.nonce = headers["Replay-Nonce"]
        return status, headers, body

    def post(self, url, payload):
        """POST payload (None: POST-as-GET); (status, headers, JSON or None)."""
        for _ in range(NONCE_TRIES):
            if self.nonce is None:
                self.request("HEAD", self.dir["newNonce"])
            prot = {"alg": self.signer.alg, "nonce": self.nonce, "url": url}
            if self.kid is None:
                prot["jwk"] = self.signer.jwk
            else:
                prot["kid"] = self.kid
            self.nonce = None
            p64 = b64u(json.dumps(prot).encode())
            b64 = "" if payload is None else b64u(json.dumps(payload).encode())
            sig = self.signer.sign(f"{p64}.{b64}".encode())
            body = json.dumps({"protected": p64, "payload": b64,
                               "signature": b64u(sig)}).encode()
            status, headers, raw = self.request("POST", url, body)
            try:
                obj = json.loads(raw) if raw else None
            except ValueError:
                obj = None
            if (status == 400 and isinstance(obj, dict)
                    and obj.get("type") == "urn:ietf:params:acme:error:badNonce"):
                continue
            return status, headers, obj
        raise AcmeError(f"POST {url}: badNonce {NONCE_TRIES} times in a row")

    def get_ok(self, url, what):
        status, headers, obj = self.post(url, None)
        if status != 200 or not isinstance(obj, dict):
            raise AcmeError(f"{what} {url}: HTTP {status}: {obj}")
        return headers, obj


def next_link(headers):
    for value in headers.get_all("Link") or []:
        m = re.match(r'\s*<([^>]*)>\s*;\s*rel="?next"?', value)
        if m:
            return m.group(1)
    return None


def authz_urls(client, account):
    """Every authorization URL of the account's (listed) orders."""
    urls = []
    page = account.get("orders")
    for _ in range(MAX_PAGES):
        if not page:
            break
        headers, lst = client.get_ok(page, "orders list")
        for order_url in lst.get("orders", []):
            _, order = client.get_ok(order_url, "order")
            urls.extend(order.get("authorizations", []))
        page = next_link(headers)
    return urls


def logged_authz_urls(log, directory):
    """Authorization URLs of the authorizations Pebble's log set valid."""
    if not log or not os.path.exists(log):
        return []
    base = urllib.parse.urlsplit(directory)
    with open(log, encoding="utf-8", errors="replace") as f:
        ids = re.findall(r"authz (\S+) set VALID", f.read())
    return [f"{base.scheme}://{base.netloc}/authZ/{i}" for i in ids]


def deactivate_account(acct_dir, args):
    """Deactivate the valid authorizations of one account; how many."""
    try:
        with open(os.path.join(acct_dir, "account.json"), encoding="utf-8") as f:
            meta = json.load(f)
    except FileNotFoundError:
        return None
    if meta.get("directory") != args.directory or not meta.get("url"):
        return None
    signer = Signer(os.path.join(acct_dir, "account.key"))
    client = Client(args.directory, args.cacert, signer, meta["url"])
    _, account = client.get_ok(meta["url"], "account")
    seen, n = set(), 0
    for url in authz_urls(client, account) + logged_authz_urls(args.pebble_log,
                                                               args.directory):
        if url in seen:
            continue
        seen.add(url)
        status, _, authz = client.post(url, None)
        if status in (403, 404):
            continue  # another account's, or gone
        if status != 200 or not isinstance(authz, dict):
            raise AcmeError(f"authorization {url}: HTTP {status}: {authz}")
        if authz.get("status") != "valid":
            continue
        status, _, authz = client.post(url, {"status": "deactivated"})
        if status != 200 or not isinstance(authz, dict) or \
                authz.get("status") != "deactivated":
            raise AcmeError(f"deactivating {url}: HTTP {status}: {authz}")
        n += 1
    return n


def register(key, args):
    """newAccount with KEY; the account URL."""
    client = Client(args.directory, args.cacert, Signer(key), None)
    status, headers, obj = client.post(client.dir["newAccount"],
                                       {"termsOfServiceAgreed": True})
    if status not in (200, 201) or not headers.get("Location"):
        raise AcmeError(f"newAccount with {key}: HTTP {status}: {obj}")
    return headers["Location"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("deactivate")
    d.add_argument("--cacert", required=True)
    d.add_argument("--directory", required=True)
    d.add_argument("--pebble-log")
    d.add_argument("account_dirs", nargs="+")
    r = sub.add_parser("register")
    r.add_argument("--cacert", required=True)
    r.add_argument("--directory", required=True)
    r.add_argument("keys", nargs="+")
    args = ap.parse_args()
    try:
        if args.cmd == "register":
            for key in args.keys:
                print(f"acme_authz: {key}: account {register(key, args)}",
                      file=sys.stderr)
            return 0
        for acct_dir in args.account_dirs:
            n = deactivate_account(acct_dir, args)
            if n is not None:
                print(f"acme_authz: {acct_dir}: deactivated {n} valid "
                      f"authorization(s)", file=sys.stderr)
    except (AcmeError, OSError, ValueError) as e:
        print(f"acme_authz: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
