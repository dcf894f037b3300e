#!/usr/bin/env python3
"""A stand-in for Ollama's /api/chat (no LLM exists here): answers every request with the
exact NDJSON stream Ollama sends (chunked, one message token a line, then a done line), and
appends each request body to the log file. Usage: fake_ollama.py PORT_FILE LOG_FILE"""
import http.server, json, sys

port_file, log_file = sys.argv[1], sys.argv[2]

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(log_file, "ab") as f:
            f.write(body + b"\n")
        if self.path != "/api/chat":
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        model = json.loads(body).get("model", "")
        lines = [{"model": model, "created_at": "2026-11-21T10:00:00.000000Z",
                  "message": {"role": "assistant", "content": t}, "done": False}
                 for t in ["Reworded: ", "the pods of name-1 ", "cannot log in."]]
        lines.append({"model": model, "created_at": "2026-11-21T10:00:01.000000Z",
                      "message": {"role": "assistant", "content": ""}, "done": True,
                      "done_reason": "stop", "total_duration": 1000, "eval_count": 3})
        for obj in lines:
            data = json.dumps(obj).encode() + b"\n"
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    def log_message(self, *args):
        pass

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(port_file, "w") as f:
    f.write(str(server.server_address[1]))
server.serve_forever()
