#!/usr/bin/env python3
"""A loopback stand-in for the Anthropic Messages API, so the real `claude` CLI runs offline.

Used by benches/run.sh to time `seance --talk -p` against a bare `claude --resume -p`
without a network. Answers per /work/shared/reference/real-claude-offline.md: streaming
SSE for `POST /v1/messages`, a plain JSON message when `stream` is false, 200 `{}` for any
GET/HEAD probe. The answer echoes the CANARY-* markers found in the request so a caller
can tell what the model was shown.

Usage: mock_api.py [--port N] [--port-file PATH] [--log-dir DIR]
Port 0 (the default) picks a free port; it is printed on stdout and written to --port-file.
"""

import argparse
import json
import os
import re
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CANARY = re.compile(rb"CANARY-[A-Za-z0-9]+")


def message(model, text):
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 1, "output_tokens": 1},
    }


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    log_dir = None
    counter = 0

    def log_message(self, *args):  # keep stderr quiet; the bench times this process
        pass

    def _send(self, status, ctype, body):
        self.send_response(status)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        self._send(200, "application/json", b"{}")

    def do_HEAD(self):
        self._send(200, "application/json", b"{}")

    def do_POST(self):
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        if Handler.log_dir:
            Handler.counter += 1
            path = os.path.join(Handler.log_dir, f"req-{os.getpid()}-{Handler.counter:06d}.json")
            with open(path, "wb") as f:
                f.write(raw)
        if "count_tokens" in self.path:
            self._send(200, "application/json", b'{"input_tokens": 1}')
            return
        if not self.path.startswith("/v1/messages"):
            self._send(200, "application/json", b"{}")
            return
        try:
            req = json.loads(raw or b"{}")
        except ValueError:
            req = {}
        model = req.get("model") or "claude-mock"
        seen = sorted({m.decode() for m in CANARY.findall(raw)})
        text = "mock answer" + ("; saw " + " ".join(seen) if seen else "")
        if not req.get("stream"):
            self._send(200, "application/json", json.dumps(message(model, text)).encode())
            return
        start = message(model, "")
        start["content"] = []
        start["stop_reason"] = None
        events = [
            ("message_start", {"type": "message_start", "message": start}),
            ("content_block_start", {"type": "content_block_start", "index": 0,
                                     "content_block": {"type": "text", "text": ""}}),
            ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                     "delta": {"type": "text_delta", "text": text}}),
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            ("message_delta", {"type": "message_delta",
                               "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                               "usage": {"output_tokens": 1}}),
            ("message_stop", {"type": "message_stop"}),
        ]
        body = b"".join(
            f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in events
        )
        self._send(200, "text/event-stream", body)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--log-dir")
    args = ap.parse_args()
    Handler.log_dir = args.log_dir
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    port = srv.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{port}\n")
        os.replace(tmp, args.port_file)
    print(port, flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
