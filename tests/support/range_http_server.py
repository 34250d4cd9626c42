#!/usr/bin/env python3
"""An HTTP/1.1 file server for the HTTP source tests (node/source/http_test.cc).

Serves the files of --dir with keep-alive, and answers as a careful server would:
strong ETags (a digest of the content), Last-Modified, single "bytes=N-" / "bytes=N-M" ranges
(206 with Content-Range, 416 past the end), If-Match and If-Unmodified-Since (412). With
--require-header "Name: value", any other request gets 401. With --tls-cert and --tls-key it
speaks HTTPS.

The first path segment picks a behaviour, the rest names the file:
  /files/NAME    as above
  /noetag/NAME   no ETag: only Last-Modified validates
  /over/NAME     announces the size but sends 7 bytes more (then closes)
  /short/NAME    announces the size but sends 7 bytes fewer (then closes)
  /chunked/NAME  chunked transfer coding, no Content-Length
"""

import argparse
import email.utils
import hashlib
import os
import ssl
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

EXTRA = b"EXTRA!!"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    root = "."
    required = None  # (name, value)

    def log_message(self, fmt, *args):  # quiet; the test prints the log on failure
        sys.stderr.write("%s\n" % (fmt % args))

    def do_HEAD(self):
        self.serve(head=True)

    def do_GET(self):
        self.serve(head=False)

    def plain(self, code, text):
        body = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def serve(self, head):
        if self.required is not None:
            name, value = self.required
            if self.headers.get(name) != value:
                self.plain(401, "unauthorized\n")
                return
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        parts = path.lstrip("/").split("/", 1)
        if len(parts) != 2 or parts[0] not in ("files", "noetag", "over", "short", "chunked"):
            self.plain(404, "no such path\n")
            return
        mode, name = parts
        full = os.path.realpath(os.path.join(self.root, name))
        if not full.startswith(os.path.realpath(self.root) + os.sep) or not os.path.isfile(full):
            self.plain(404, "no such file\n")
            return
        with open(full, "rb") as f:
            data = f.read()
        mtime = os.stat(full).st_mtime
        last_modified = email.utils.formatdate(mtime, usegmt=True)
        etag = None if mode == "noetag" else '"%s"' % hashlib.sha256(data).hexdigest()[:32]

        if_match = self.headers.get("If-Match")
        if if_match is not None and if_match != "*" and (etag is None or etag not in [
                t.strip() for t in if_match.split(",")]):
            self.plain(412, "precondition failed\n")
            return
        ius = self.headers.get("If-Unmodified-Since")
        if ius is not None:
            try:
                since = email.utils.parsedate_to_datetime(ius).timestamp()
            except (TypeError, ValueError):
                since = None
            if since is not None and int(mtime) > since:
                self.plain(412, "precondition failed\n")
                return

        start, end, status = 0, len(data), 200
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes=") and mode != "chunked":
            first, _, last = rng[len("bytes="):].partition("-")
            try:
                start = int(first)
                end = int(last) + 1 if last else len(data)
            except ValueError:
                self.plain(400, "bad range\n")
                return
            if start >= len(data) or end <= start:
                self.send_response(416)
                self.send_header("Content-Range", "bytes */%d" % len(data))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            end = min(end, len(data))
            status = 206
        body = data[start:end]

        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Last-Modified", last_modified)
        self.send_header("Accept-Ranges", "bytes")
        if etag is not None:
            self.send_header("ETag", etag)
        if status == 206:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end - 1, len(data)))
        if mode == "chunked":
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(body)))
        if mode in ("over", "short"):
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if head:
            return
        if mode == "over":
            body = body + EXTRA
        elif mode == "short":
            body = body[:-len(EXTRA)]
        if mode == "chunked":
            for i in range(0, len(body), 1000):
                piece = body[i:i + 1000]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.wfile.write(body)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--require-header", default=None)
    ap.add_argument("--tls-cert", default=None)
    ap.add_argument("--tls-key", default=None)
    args = ap.parse_args()
    Handler.root = args.dir
    if args.require_header:
        name, _, value = args.require_header.partition(":")
        Handler.required = (name.strip(), value.strip())
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
