#!/usr/bin/python3
"""Test-only OAuth2 token server, started by mailtest.sh (stdlib only).

usage: oauth2-token.py TOKEN_PORT ADMIN_PORT CERT KEY PIDFILE

HTTPS 127.0.0.1:TOKEN_PORT  POST /token       grant_type=client_credentials (client_id, client_secret),
                                              or refresh_token (rotated at each use, as providers may do)
HTTP  127.0.0.1:ADMIN_PORT  POST /introspect  token=...  -> {"active": true, "email": USER} while it lives
                                              (RFC 7662, for Dovecot's oauth2 passdb)
                            POST /admin/client {"client_id", "client_secret", "user", "lifetime"[, "refresh_token"]}
                            POST /admin/revoke {"client_id"}: the client and its tokens stop working
                            GET  /admin/client?client_id=ID -> {"issued": N, "refreshed": N, "refresh": CURRENT, ...}
Each test registers its own client id, so parallel tests share no state.
"""
import json, os, secrets, signal, ssl, sys, threading, time, urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

token_port, admin_port, cert, key, pidfile = sys.argv[1:6]
lock = threading.Lock()
clients = {}   # id -> {"secret", "user", "lifetime", "revoked", "refresh", "issued", "refreshed"}
tokens = {}    # access token -> (client id, expiry)


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, fmt, *args):
        sys.stdout.write('%s %s\n' % (time.strftime('%H:%M:%S'), fmt % args))
        sys.stdout.flush()

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        return self.rfile.read(int(self.headers.get('Content-Length') or 0))

    def form(self):
        return {k: v[0] for k, v in urllib.parse.parse_qs(self.body().decode()).items()}

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        if self.server.admin and url.path == '/admin/client':
            cid = urllib.parse.parse_qs(url.query).get('client_id', [''])[0]
            with lock:
                c = clients.get(cid)
                return self.answer(200, dict(c, secret='*') if c else {})
        self.answer(404, {'error': 'not_found'})

    def do_POST(self):
        path = urllib.parse.urlparse(self.path).path
        if not self.server.admin and path == '/token':
            return self.token(self.form())
        if self.server.admin and path == '/introspect':
            f = self.form()
            with lock:
                cid, expiry = tokens.get(f.get('token', ''), (None, 0))
                c = clients.get(cid)
                if c and not c['revoked'] and time.time() < expiry:
                    return self.answer(200, {'active': True, 'email': c['user'], 'client_id': cid})
            return self.answer(200, {'active': False})
        if self.server.admin and path == '/admin/client':
            d = json.loads(self.body() or b'{}')
            with lock:
                clients[d['client_id']] = {'secret': d.get('client_secret', ''), 'user': d['user'],
                                           'lifetime': int(d.get('lifetime', 3600)), 'revoked': False,
                                           'refresh': d.get('refresh_token'), 'issued': 0, 'refreshed': 0}
            return self.answer(200, {'ok': True})
        if self.server.admin and path == '/admin/revoke':
            d = json.loads(self.body() or b'{}')
            with lock:
                if d.get('client_id') in clients:
                    clients[d['client_id']]['revoked'] = True
            return self.answer(200, {'ok': True})
        self.answer(404, {'error': 'not_found'})

    def token(self, f):
        with lock:
            c = clients.get(f.get('client_id', ''))
            if not c or c['revoked'] or c['secret'] != f.get('client_secret', ''):
                return self.answer(401, {'error': 'invalid_client',
                                         'error_description': 'client unknown, revoked or wrong secret'})
            extra = {}
            grant = f.get('grant_type')
            if grant == 'refresh_token':
                if not c['refresh'] or f.get('refresh_token') != c['refresh']:
                    return self.answer(400, {'error': 'invalid_grant', 'error_description': 'refresh token spent'})
                c['refresh'] = 'r-' + secrets.token_urlsafe(12)   # rotated: the old one is spent
                c['refreshed'] += 1
                extra['refresh_token'] = c['refresh']
            elif grant != 'client_credentials':
                return self.answer(400, {'error': 'unsupported_grant_type'})
            t = 'at-' + secrets.token_urlsafe(24)
            tokens[t] = (f['client_id'], time.time() + c['lifetime'])
            c['issued'] += 1
            return self.answer(200, dict({'access_token': t, 'token_type': 'Bearer',
                                          'expires_in': c['lifetime']}, **extra))


def serve(port, admin, tls):
    httpd = ThreadingHTTPServer(('127.0.0.1', int(port)), Handler)
    httpd.admin = admin
    httpd.daemon_threads = True
    if tls:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(cert, key)
        httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


servers = [serve(token_port, False, True), serve(admin_port, True, False)]
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *a: stop.set())
signal.signal(signal.SIGINT, lambda *a: stop.set())
with open(pidfile, 'w') as f:
    f.write('%d\n' % os.getpid())
print('ready: https://127.0.0.1:%s/token, http://127.0.0.1:%s/introspect' % (token_port, admin_port), flush=True)
stop.wait()
for s in servers:
    s.shutdown()
