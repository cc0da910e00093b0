#!/usr/bin/env python3
"""Test stand-in for Lumen's progress endpoint: appends {"path", "auth", "body"} per POST to --out (JSON lines)."""
import argparse, json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

p = argparse.ArgumentParser()
p.add_argument("--port-file", required=True)
p.add_argument("--out", required=True)
a = p.parse_args()


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(a.out, "a") as f:
            f.write(json.dumps({"path": self.path, "auth": self.headers.get("Authorization"),
                                "body": json.loads(body or b"{}")}) + "\n")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(a.port_file, "w") as f:
    f.write(str(server.server_address[1]))
server.serve_forever()
