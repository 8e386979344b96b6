#!/usr/bin/env python3
"""pkihttp.py PKI PORT - the AIA, CRL and OCSP side of a test PKI on
127.0.0.1:PORT, for t_check.sh, t_check_mail.sh and bench/check.sh.

GET serves the files of PKI (intermediates for AIA caIssuers, CRLs for CRL
distribution points). POST /ocsp and /root-ocsp run the real `openssl ocsp
-index` responder on the request with the intermediate's database
(PKI/index.txt, PKI/int.pem) or the root's (PKI/root/index.txt,
PKI/root.pem). `openssl ocsp -port` cannot bind to 127.0.0.1 only, so it
is not run as a daemon. A stand-in for a CA's web server only.
"""
import http.server
import os
import subprocess
import sys
import tempfile

PKI, PORT = sys.argv[1], int(sys.argv[2])
CAS = {"/ocsp": (PKI, "int"), "/root-ocsp": (os.path.join(PKI, "root"), "root")}


class Handler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *a, **k):
        super().__init__(*a, directory=PKI, **k)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        db, ca = CAS.get(self.path, CAS["/ocsp"])
        cert, key = os.path.join(PKI, ca + ".pem"), os.path.join(PKI, ca + ".key")
        with tempfile.NamedTemporaryFile(dir=PKI, suffix=".req") as f:
            f.write(body)
            f.flush()
            out = subprocess.run(
                ["openssl", "ocsp", "-index", os.path.join(db, "index.txt"),
                 "-CA", cert, "-rsigner", cert, "-rkey", key, "-ndays", "1",
                 "-reqin", f.name, "-respout", "/dev/stdout"],
                capture_output=True).stdout
        self.send_response(200)
        self.send_header("Content-Type", "application/ocsp-response")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
