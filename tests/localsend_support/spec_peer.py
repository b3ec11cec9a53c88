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

Usage: spec_peer.py ALIAS IP CERT.pem KEY.pem
"""

import http.server
import json
import socket
import ssl
import sys
import threading

GROUP, PORT = "224.0.0.167", 53317
alias, ip, cert, key = sys.argv[1:5]
fingerprint = "spec-peer-" + alias
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
    def do_POST(self):
        length = min(int(self.headers.get("Content-Length", "0")), 65536)
        body = self.rfile.read(length)
        if self.path != "/api/localsend/v2/register":
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        say("REGISTER", json.dumps(json.loads(body)))
        out = json.dumps(info).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

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
