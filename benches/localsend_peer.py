#!/usr/bin/env python3
"""A LocalSend peer for the benchmark, written from the public protocol
(https://github.com/localsend/protocol, README: "LocalSend Protocol v2",
sections 4.1 prepare-upload, 4.2 upload, 6.1 info) with Python's standard
library only, so that Ferry's LocalSend side is measured against something
that is not Ferry. It behaves the way FACTS.md saw LocalSend behave:

  send     a sender like LocalSend's CLI: HTTPS with a client certificate,
           prepare-upload without sha256 (LocalSend sends none), then one
           POST /upload per file, one after another on a kept-alive
           connection, each file streamed from disk by curl (C and OpenSSL:
           Python's own ssl writes cost more CPU than the receiver).
  receive  a server like LocalSend's: HTTPS, HTTP/1.1 keep-alive, a thread
           per connection (LocalSend's own server serves requests
           concurrently), accepts every offer, writes each upload straight
           to its final name (as LocalSend does), checks the size, and exits
           after the first session is complete (with --once).

Differences, said plainly: the server does not ask the client for a
certificate (Python's ssl module cannot accept an arbitrary self-signed one),
and neither side hashes (LocalSend's sender sends no sha256, so its server
checks none). It needs `openssl` (to make its self-signed certificate) and `curl`.
"""

import argparse
import http.client
import json
import os
import secrets
import socket
import ssl
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

API = "/api/localsend/v2"
READ = 1024 * 1024


def certificate(folder):
    """A self-signed certificate and key in `folder` (made once)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = folder / "peer.crt", folder / "peer.key"
    if not cert.exists():
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
             "-subj", "/CN=LocalSend bench peer", "-keyout", str(key), "-out", str(cert)],
            check=True, capture_output=True)
    return str(cert), str(key)


def info(port):
    return {
        "alias": "bench peer",
        "version": "2.1",
        "deviceModel": "python",
        "deviceType": "headless",
        "fingerprint": "bench-peer",
        "port": port,
        "protocol": "https",
        "download": False,
    }


# ------------------------------------------------------------------ sender


def files_of(root):
    """(id, relative name, local path, size) of every file under root."""
    root = Path(root)
    if root.is_file():
        return [("0", root.name, root, root.stat().st_size)]
    out = []
    for dirpath, dirnames, names in os.walk(root):
        dirnames.sort()
        for name in sorted(names):
            path = Path(dirpath) / name
            rel = path.relative_to(root.parent).as_posix()
            out.append((str(len(out)), rel, path, path.stat().st_size))
    return out


def send(args):
    host, port = args.to.rsplit(":", 1)
    cert, key = certificate(args.cert_dir)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # LocalSend checks no certificate
    ctx.load_cert_chain(cert, key)
    items = files_of(args.path)
    conn = http.client.HTTPSConnection(host, int(port), context=ctx, blocksize=READ)
    offer = {
        "info": info(0),
        "files": {
            i: {"id": i, "fileName": name, "size": size, "fileType": "application/octet-stream"}
            for i, name, _, size in items
        },
    }
    conn.request("POST", f"{API}/prepare-upload", body=json.dumps(offer),
                 headers={"Content-Type": "application/json"})
    answer = conn.getresponse()
    body = answer.read()
    if answer.status != 200:
        sys.exit(f"prepare-upload: {answer.status} {body[:200]!r}")
    session = json.loads(body)
    sid, tokens = session["sessionId"], session["files"]
    conn.close()
    # The uploads: curl (C, OpenSSL), one request after another on one
    # kept-alive connection, streaming each file from disk.
    lines = []
    for i, _, path, _ in items:
        if i in tokens:
            lines.append(f'url = "https://{host}:{port}{API}/upload?sessionId={sid}&fileId={i}&token={tokens[i]}"')
            lines.append(f'upload-file = "{path}"')
            lines.append('output = "/dev/null"')
    config = Path(args.cert_dir) / f"upload-{os.getpid()}.curl"
    config.write_text("\n".join(lines) + "\n")
    try:
        subprocess.run(
            ["curl", "--silent", "--show-error", "--fail", "--insecure", "--cert", cert, "--key", key,
             "--request", "POST", "--header", "Expect:", "--header",
             "Content-Type: application/octet-stream", "--config", str(config)],
            check=True)
    finally:
        config.unlink()


# ---------------------------------------------------------------- receiver


class Receiver:
    def __init__(self, args):
        self.dir = Path(args.dir)
        self.port = args.port
        self.once = args.once
        self.lock = threading.Lock()
        self.session = None  # (id, {file id: (token, name, size)})
        self.left = 0
        self.done = threading.Event()
        self.made = set()  # folders already created (a mkdir per file costs)

    def prepare(self, body):
        offer = json.loads(body)
        files = {}
        for fid, meta in offer["files"].items():
            files[fid] = (secrets.token_hex(8), meta["fileName"], int(meta["size"]))
        with self.lock:
            if self.session is not None:
                return 409, {"message": "Blocked by another session"}
            self.session = (secrets.token_hex(8), files)
            self.left = len(files)
        return 200, {"sessionId": self.session[0], "files": {f: v[0] for f, v in files.items()}}

    def target(self, query):
        q = {k: v[0] for k, v in parse_qs(query).items()}
        with self.lock:
            if self.session is None or q.get("sessionId") != self.session[0]:
                return None
            entry = self.session[1].get(q.get("fileId"))
        if entry is None or entry[0] != q.get("token"):
            return None
        name = os.path.normpath(entry[1])
        if name.startswith("..") or os.path.isabs(name):
            return None
        return os.path.join(self.dir, name), entry[2]

    def finished_one(self):
        with self.lock:
            self.left -= 1
            if self.left == 0 and self.once:
                self.done.set()

    def serve(self, sock):
        """One connection: HTTP/1.1 requests until the client closes."""
        rfile = sock.makefile("rb", buffering=READ)
        try:
            while True:
                line = rfile.readline(65536)
                if not line:
                    return
                method, target, _ = line.decode("latin-1").split(" ", 2)
                length = 0
                while True:
                    h = rfile.readline(65536)
                    if h in (b"\r\n", b"\n", b""):
                        break
                    k, _, v = h.decode("latin-1").partition(":")
                    if k.strip().lower() == "content-length":
                        length = int(v.strip())
                url = urlsplit(target)
                status, answer = self.route(method, url, length, rfile)
                data = json.dumps(answer).encode() if answer is not None else b""
                head = (f"HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n"
                        f"content-length: {len(data)}\r\n\r\n").encode()
                sock.sendall(head + data)
        except (OSError, ValueError):
            return
        finally:
            rfile.close()
            sock.close()

    def route(self, method, url, length, rfile):
        if url.path == f"{API}/info" or url.path == f"{API}/register":
            rfile.read(length)
            return 200, info(self.port)
        if url.path == f"{API}/prepare-upload":
            return self.prepare(rfile.read(length))
        if url.path == f"{API}/upload":
            found = self.target(url.query)
            if found is None:
                rfile.read(length)
                return 403, {"message": "Invalid token or IP address"}
            path, size = found
            if length != size:
                rfile.read(length)
                return 400, {"message": "Wrong size"}
            parent = os.path.dirname(path)
            if parent not in self.made:
                os.makedirs(parent, exist_ok=True)
                self.made.add(parent)
            with open(path, "xb") as f:
                left = size
                while left:
                    chunk = rfile.read(min(left, READ))
                    if not chunk:
                        raise OSError("body ended early")
                    f.write(chunk)
                    left -= len(chunk)
            self.finished_one()
            return 200, None
        if url.path == f"{API}/cancel":
            with self.lock:
                self.session = None
            return 200, None
        rfile.read(length)
        return 404, {"message": "Not found"}


def receive(args):
    cert, key = certificate(args.cert_dir)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    me = Receiver(args)
    listener = socket.create_server(("127.0.0.1", args.port))
    me.port = listener.getsockname()[1]
    print(f"Listening on port {me.port}", flush=True)

    def accept():
        while True:
            raw, _ = listener.accept()
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                sock = ctx.wrap_socket(raw, server_side=True)
            except (OSError, ssl.SSLError):
                raw.close()
                continue
            threading.Thread(target=me.serve, args=(sock,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    me.done.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cert-dir", required=True, help="where its certificate is kept")
    sub = ap.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("send")
    s.add_argument("--to", required=True, help="HOST:PORT of the LocalSend server")
    s.add_argument("path")
    r = sub.add_parser("receive")
    r.add_argument("--port", type=int, default=0)
    r.add_argument("--dir", required=True)
    r.add_argument("--once", action="store_true", help="exit after the first complete session")
    args = ap.parse_args()
    send(args) if args.mode == "send" else receive(args)


if __name__ == "__main__":
    main()
