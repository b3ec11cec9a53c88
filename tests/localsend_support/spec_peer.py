#!/usr/bin/env python3
"""A LocalSend peer written from the public protocol alone (the
localsend/protocol README, v2.1, sections 3.1 and 3.2), for Ferry's netlab
test. It joins 224.0.0.167:53317 on the given address, announces itself once
(announce: true), answers announcements by the spec's multicast fallback
(announce: false), serves POST /api/localsend/v2/register over HTTPS, and
prints one line per thing it hears:

    READY
    HEARD {json of the datagram}
    REGISTER {json of the body}

    RECEIVED {"name": ..., "sha256": ..., "status": ...}

It also receives files (section 4: prepare-upload accepts everything,
upload writes under OUT_DIR and checks the size and the sha256 given) and,
in send mode, sends files to a receiver over HTTPS with a client
certificate (prepare-upload, then one upload per file), printing
SERVER_FINGERPRINT, PREPARE {status} and UPLOAD {name} {status}.

Usage: spec_peer.py ALIAS IP CERT.pem KEY.pem OUT_DIR
       spec_peer.py send ALIAS CERT.pem KEY.pem HOST:PORT ROOT PATH...
"""

import hashlib
import http.client
import http.server
import json
import os
import secrets
import socket
import ssl
import sys
import threading

GROUP, PORT = "224.0.0.167", 53317


def send_files(alias, cert, key, target, root, paths):
    """Sends PATHs (files or folders, relative to ROOT) as section 4 says."""
    host, port = target.rsplit(":", 1)
    files = {}
    for path in paths:
        full = os.path.join(root, path)
        walk = [(full, path)] if os.path.isfile(full) else [
            (os.path.join(d, f), os.path.relpath(os.path.join(d, f), root))
            for d, _, fs in os.walk(full) for f in fs
        ]
        for local, name in walk:
            with open(local, "rb") as handle:
                digest = hashlib.sha256(handle.read()).hexdigest()
            fid = str(len(files))
            files[fid] = {"id": fid, "fileName": name.replace(os.sep, "/"),
                          "size": os.path.getsize(local), "fileType": "application/octet-stream",
                          "sha256": digest, "preview": None, "local": local}
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    tls.check_hostname = False
    tls.verify_mode = ssl.CERT_NONE
    tls.load_cert_chain(cert, key)
    info = {"alias": alias, "version": "2.1", "deviceModel": "Pixel", "deviceType": "mobile",
            "fingerprint": "ignored-over-https", "port": PORT, "protocol": "https", "download": False}
    wire = {fid: {k: v for k, v in f.items() if k != "local"} for fid, f in files.items()}
    conn = http.client.HTTPSConnection(host, int(port), context=tls, timeout=60)
    conn.request("POST", "/api/localsend/v2/prepare-upload", json.dumps({"info": info, "files": wire}),
                 {"Content-Type": "application/json"})
    der = conn.sock.getpeercert(binary_form=True)
    print("SERVER_FINGERPRINT", hashlib.sha256(der).hexdigest(), flush=True)
    answer = conn.getresponse()
    body = answer.read()
    print("PREPARE", answer.status, flush=True)
    if answer.status != 200:
        return 1
    session = json.loads(body)
    for fid, token in session["files"].items():
        f = files[fid]
        with open(f["local"], "rb") as handle:
            conn.request("POST", "/api/localsend/v2/upload?sessionId=%s&fileId=%s&token=%s"
                         % (session["sessionId"], fid, token), handle,
                         {"Content-Length": str(f["size"])})
            reply = conn.getresponse()
            reply.read()
        print("UPLOAD", f["fileName"], reply.status, flush=True)
        if reply.status != 200:
            return 1
    return 0


if sys.argv[1] == "send":
    sys.exit(send_files(*sys.argv[2:7], sys.argv[7:]))

alias, ip, cert, key, out_dir = sys.argv[1:6]
sessions = {}
# Over HTTPS the fingerprint is the SHA-256 of the certificate (section 2).
with open(cert) as pem:
    fingerprint = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem.read())).hexdigest().upper()
info = {
    "alias": alias,
    "version": "2.1",
    "deviceModel": "Pixel",
    "deviceType": "mobile",
    "fingerprint": fingerprint,
    "port": PORT,
    "protocol": "https",
    "download": False,
}


def say(*parts):
    print(*parts, flush=True)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, status, payload=None):
        out = json.dumps(payload).encode() if payload is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def do_POST(self):
        path, _, query = self.path.partition("?")
        params = dict(p.partition("=")[::2] for p in query.split("&") if p)
        length = int(self.headers.get("Content-Length", "0"))
        if path == "/api/localsend/v2/upload":
            return self.upload(params, length)
        body = self.rfile.read(min(length, 8 << 20))
        if path == "/api/localsend/v2/register":
            say("REGISTER", json.dumps(json.loads(body)))
            return self.answer(200, info)
        if path == "/api/localsend/v2/prepare-upload":
            offer = json.loads(body)
            sid = secrets.token_hex(8)
            tokens = {fid: secrets.token_hex(8) for fid in offer["files"]}
            sessions[sid] = {fid: (tokens[fid], meta) for fid, meta in offer["files"].items()}
            say("PREPARE", json.dumps({"alias": offer["info"]["alias"], "files": len(tokens)}))
            return self.answer(200, {"sessionId": sid, "files": tokens})
        if path == "/api/localsend/v2/cancel":
            sessions.pop(params.get("sessionId"), None)
            return self.answer(200)
        self.answer(404, {"message": "Not found"})

    def upload(self, params, length):
        session = sessions.get(params.get("sessionId"), {})
        token, meta = session.get(params.get("fileId"), (None, None))
        data = self.rfile.read(length)
        if token is None or token != params.get("token"):
            return self.answer(403, {"message": "Invalid token or IP address"})
        digest = hashlib.sha256(data).hexdigest()
        status = 200
        if len(data) != meta["size"] or (meta.get("sha256") and meta["sha256"].lower() != digest):
            status = 422
        else:
            target = os.path.join(out_dir, *meta["fileName"].split("/"))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "wb") as handle:
                handle.write(data)
        say("RECEIVED", json.dumps({"name": meta["fileName"], "sha256": digest, "status": status}))
        self.answer(status, None if status == 200 else {"message": "Checksum mismatch"})

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer((ip, PORT), Handler)
tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
tls.load_cert_chain(cert, key)
server.socket = tls.wrap_socket(server.socket, server_side=True)
threading.Thread(target=server.serve_forever, daemon=True).start()

listen = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
listen.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listen.bind(("", PORT))
listen.setsockopt(
    socket.IPPROTO_IP,
    socket.IP_ADD_MEMBERSHIP,
    socket.inet_aton(GROUP) + socket.inet_aton(ip),
)
send = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
send.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(ip))
send.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)


def announce(flag):
    send.sendto(json.dumps(dict(info, announce=flag)).encode(), (GROUP, PORT))


announce(True)
say("READY")
while True:
    data, source = listen.recvfrom(65536)
    try:
        message = json.loads(data)
    except ValueError:
        continue
    if not isinstance(message, dict) or message.get("fingerprint") == fingerprint:
        continue
    say("HEARD", json.dumps(message))
    if message.get("announce"):
        announce(False)
