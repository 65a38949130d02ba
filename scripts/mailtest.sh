#!/usr/bin/env bash
# mailtest.sh - throw-away REAL mail servers (Sportello's copy of the team recipe) for integration tests, bound to 127.0.0.1 only.
#
#   IMAP : Dovecot 2.3 (Debian 12), own config file, Maildir under $MAILTEST_DIR
#            plain/STARTTLS 127.0.0.1:1143, implicit TLS 127.0.0.1:1993
#   SMTP : MAILTEST_SMTP=aiosmtpd (default): tiny aiosmtpd server that hands each message to
#            Dovecot LMTP *before* answering 250 (synchronous => no polling needed in tests)
#          MAILTEST_SMTP=postfix: a private Postfix instance relaying to Dovecot LMTP (queue => async)
#            both: plain/STARTTLS 127.0.0.1:2525, implicit TLS 127.0.0.1:2465, AUTH PLAIN/LOGIN optional
#   LMTP : 127.0.0.1:2424 and unix socket $MAILTEST_DIR/run/lmtp (direct injection, no SMTP)
#   SUBMISSION: Dovecot's submission service on 127.0.0.1:2587 (plain/STARTTLS), relaying to the SMTP server
#          above; like IMAP it takes AUTH XOAUTH2 / OAUTHBEARER, the tokens checked by introspection
#   OAUTH2: the token server scripts/oauth2-token.py: POST /token over HTTPS on 127.0.0.1:2443 (the test CA);
#          plain HTTP on 127.0.0.1:2480 for /introspect (Dovecot's oauth2 passdb) and /admin/* (tests)
#
# usage: mailtest.sh install | start | stop | status | env | adduser EMAIL PASSWORD
# No /etc edits, no systemd. Processes are stopped by the PIDs in their own pid files.
set -euo pipefail

D=${MAILTEST_DIR:-/tmp/mailtest}
SMTP_IMPL=${MAILTEST_SMTP:-aiosmtpd}          # aiosmtpd | postfix
IMAP_PORT=${MAILTEST_IMAP_PORT:-1143}
IMAPS_PORT=${MAILTEST_IMAPS_PORT:-1993}
SMTP_PORT=${MAILTEST_SMTP_PORT:-2525}
SMTPS_PORT=${MAILTEST_SMTPS_PORT:-2465}
LMTP_PORT=${MAILTEST_LMTP_PORT:-2424}
SUBMISSION_PORT=${MAILTEST_SUBMISSION_PORT:-2587}
TOKEN_PORT=${MAILTEST_TOKEN_PORT:-2443}
TOKEN_ADMIN_PORT=${MAILTEST_TOKEN_ADMIN_PORT:-2480}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CATCHALL=${MAILTEST_CATCHALL:-}               # e.g. alice@example.test: aiosmtpd only, see smtp2lmtp.py
VUID=${MAILTEST_UID:-5000}                    # numeric uid/gid owning the Maildirs; need not exist in /etc/passwd
DOMAIN=example.test
PY=/usr/bin/python3                           # Debian's python (python3-aiosmtpd lives there, not in pyenv)

STARTING=""
log() { echo "mailtest: $*" >&2; }
die() { log "ERROR: $*"; [ -n "$STARTING" ] && cmd_stop; exit 1; }   # no half-started leftovers

cmd_install() {
  local pkgs="dovecot-imapd dovecot-lmtpd dovecot-submissiond openssl"
  [ "$SMTP_IMPL" = postfix ] && pkgs="$pkgs postfix" || pkgs="$pkgs python3-aiosmtpd"
  # fast path: everything already installed -> no apt run (and no apt lock wait)
  if [ "$(dpkg-query -W -f='${Status}\n' $pkgs 2>/dev/null | grep -c 'install ok installed')" -eq "$(wc -w <<< "$pkgs")" ]; then
    log "packages already installed: $pkgs"; return 0
  fi
  # no package lists yet (fresh machine)? -> apt-get update once
  apt-cache show dovecot-imapd >/dev/null 2>&1 || apt-get update -q -o DPkg::Lock::Timeout=600
  # Keep package maintainer scripts from starting system-wide daemons on 0.0.0.0:143/:25.
  # (Docker-style images already ship /usr/sbin/policy-rc.d = "exit 101"; add one only if missing.)
  local tmp_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; tmp_policy=1
  fi
  # postfix: choose "No configuration" so the package writes no /etc/postfix/main.cf
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  local rc=0
  # --no-upgrade: do not upgrade already-installed packages (e.g. openssl/libssl3) as a side effect
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends --no-upgrade \
    -o DPkg::Lock::Timeout=600 $pkgs || rc=$?
  if [ "$rc" -ne 0 ]; then
    # Package lists older than the mirror give 404s: refresh them once and try again.
    rc=0
    apt-get update -q -o DPkg::Lock::Timeout=600
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends --no-upgrade \
      -o DPkg::Lock::Timeout=600 $pkgs || rc=$?
  fi
  [ -n "$tmp_policy" ] && rm -f /usr/sbin/policy-rc.d
  return $rc
}

pid_alive() {  # pid exists and is not a zombie (PID 1 here reaps orphans only every ~1-2 s)
  local st
  st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$st" ] && [ "$st" != Z ]
}

group_members() {  # live (non-zombie) processes whose process group id is $1
  ps -e -o pid=,pgid=,stat= | awk -v g="$1" '$2 == g && $3 !~ /^Z/ {print $1}'
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {  # wait until 127.0.0.1:$1 accepts connections (max ~15 s)
  local i
  for i in $(seq 1 300); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  return 1
}

# stop_pidfile FILE NAME_REGEX: SIGTERM the pid in FILE (only if its cmdline matches), wait, then
# SIGTERM/SIGKILL any process still left in its process group (the daemons call setsid()).
stop_pidfile() {
  local f=$1 re=$2 pid i
  [ -s "$f" ] || return 0
  pid=$(tr -dc 0-9 < "$f")
  if [ -n "$pid" ] && pid_alive "$pid" && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -Eq "$re"; then
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do pid_alive "$pid" || break; sleep 0.1; done
    pid_alive "$pid" && kill -KILL "$pid" 2>/dev/null || true
    # leftovers of the same process group (pgid == master pid); wait for them, then force
    for i in $(seq 1 50); do [ -z "$(group_members "$pid")" ] && break; sleep 0.1; done
    if [ -n "$(group_members "$pid")" ]; then
      kill -TERM -- "-$pid" 2>/dev/null || true; sleep 0.5; kill -KILL -- "-$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$f"
}

write_if_changed() {  # write stdin to $1 only if the content differs (keeps mtime stable)
  local tmp="$1.new.$$"
  cat > "$tmp"
  if cmp -s "$tmp" "$1"; then rm -f "$tmp"; else mv -f "$tmp" "$1"; fi
}

write_users() {
  [ -s "$D/users" ] && return 0
  # user:{SCHEME}password:uid:gid:gecos:home:shell:extra - empty userdb fields => default_fields.
  # (Without the trailing colons the userdb says "missing userdb info".) Re-read by Dovecot on change.
  cat > "$D/users" <<EOF
helpdesk@$DOMAIN:{PLAIN}helpdesk-pw::::::
alice@$DOMAIN:{PLAIN}alice-pw::::::
operator@$DOMAIN:{PLAIN}operator-pw::::::
EOF
}

make_tls() {
  [ -s "$D/tls/server.pem" ] && return 0
  mkdir -p "$D/tls"
  # a CA + leaf (CA:FALSE, SAN localhost/127.0.0.1): works with OpenSSL/native-tls AND rustls/webpki,
  # which rejects a self-signed CA:TRUE cert used directly as the server cert.
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=mailtest CA" \
    -keyout "$D/tls/ca.key" -out "$D/tls/ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
    -keyout "$D/tls/server.key" -out "$D/tls/server.csr" 2>/dev/null
  printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
    "extendedKeyUsage=serverAuth" "subjectAltName=DNS:localhost,IP:127.0.0.1" > "$D/tls/server.ext"
  openssl x509 -req -days 3650 -in "$D/tls/server.csr" -CA "$D/tls/ca.pem" -CAkey "$D/tls/ca.key" \
    -CAcreateserial -extfile "$D/tls/server.ext" -out "$D/tls/server.pem" 2>/dev/null
}

write_dovecot_conf() {
  local name
  name="mailtest-$(printf %s "$D" | cksum | cut -d' ' -f1)"
  cat > "$D/dovecot.conf" <<EOF
# Standalone Dovecot 2.3 config: nothing from /etc/dovecot is read.
instance_name = $name
base_dir = $D/run
state_dir = $D/state
log_path = $D/log/dovecot.log
protocols = imap lmtp submission
listen = 127.0.0.1
hostname = mail.$DOMAIN
postmaster_address = postmaster@$DOMAIN

ssl = yes
ssl_cert = <$D/tls/server.pem
ssl_key = <$D/tls/server.key
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2 oauthbearer
auth_failure_delay = 0
mail_max_userip_connections = 100
mail_fsync = never
recipient_delimiter = +

passdb {
  # OAuth2 bearer tokens, checked at the test's token server (RFC 7662 introspection)
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = $D/dovecot-oauth2.conf.ext
}
passdb {
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN username_format=%u $D/users
}
userdb {
  # same file as passdb (so "doveadm -A" can list users); uid/gid/home come from default_fields
  driver = passwd-file
  args = username_format=%u $D/users
  default_fields = uid=$VUID gid=$VUID home=$D/mail/%d/%n
}
first_valid_uid = $VUID
mail_location = maildir:~/Maildir

namespace inbox {
  inbox = yes
  separator = /
  mailbox Sent {
    special_use = \\Sent
    auto = subscribe
  }
  mailbox Drafts {
    special_use = \\Drafts
    auto = subscribe
  }
  mailbox Trash {
    special_use = \\Trash
    auto = subscribe
  }
  mailbox Junk {
    special_use = \\Junk
    auto = subscribe
  }
  mailbox Archive {
    special_use = \\Archive
    auto = subscribe
  }
}

service imap-login {
  # keep the listener NAMES imap/imaps, otherwise the defaults on *:143/*:993 stay active too
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP_PORT
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $IMAPS_PORT
    ssl = yes
  }
}
# Submission (SMTP AUTH against the same passdbs, so OAuth2 tokens too), relayed to the SMTP server
submission_relay_host = 127.0.0.1
submission_relay_port = $SMTP_PORT
submission_relay_trusted = no
service submission-login {
  # keep the listener NAME submission, otherwise the default on *:587 stays active too
  inet_listener submission {
    address = 127.0.0.1
    port = $SUBMISSION_PORT
  }
}
service lmtp {
  unix_listener lmtp {
    mode = 0666
  }
  inet_listener lmtp {
    address = 127.0.0.1
    port = $LMTP_PORT
  }
}
service anvil {
  # mode 0 = no socket => auth penalty disabled. Otherwise every failed login from 127.0.0.1
  # delays the next login attempts from 127.0.0.1 by 2, 4, 8 .. 15 s (slow negative tests).
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
service auth {
  # SASL for the optional Postfix front end
  unix_listener auth-postfix {
    mode = 0666
  }
}
EOF
  cat > "$D/dovecot-oauth2.conf.ext" <<EOF
introspection_mode = post
introspection_url = http://127.0.0.1:$TOKEN_ADMIN_PORT/introspect
username_attribute = email
active_attribute = active
active_value = true
EOF
}

write_relay() {
  cat > "$D/smtp2lmtp.py" <<'PYEOF'
#!/usr/bin/python3
"""Test-only SMTP server (aiosmtpd) that delivers each accepted message into Dovecot via LMTP
before it answers 250.  usage: smtp2lmtp.py USERS LMTP_SOCKET SMTP_PORT SMTPS_PORT CERT KEY PIDFILE [CATCHALL]
With CATCHALL (an existing user), mail for unknown recipients of ANY domain is accepted and
delivered to that mailbox with an X-Original-To header (to assert on "outgoing" replies)."""
import asyncio, datetime, logging, os, signal, smtplib, ssl, sys
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

logging.getLogger('mail.log').setLevel(logging.ERROR)  # hide aiosmtpd 1.4 "login_data is deprecated"
users_file, lmtp_path, smtp_port, smtps_port, cert, key, pidfile = sys.argv[1:8]
catchall = (sys.argv[8] if len(sys.argv) > 8 else '').lower()
lmtp_path = os.path.abspath(lmtp_path)   # smtplib.LMTP treats only "/..." as a unix socket

def load_users():
    users = {}
    with open(users_file) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith('#'):
                name, pw = line.split(':', 2)[:2]
                users[name.lower()] = pw.split('}', 1)[-1]          # strip "{PLAIN}"
    return users

def base_address(addr):                                       # helpdesk+T42@x -> helpdesk@x
    local, _, domain = addr.rpartition('@')
    return ('%s@%s' % (local.split('+', 1)[0], domain)).lower()

def log(*a):
    print(datetime.datetime.now().isoformat(timespec='milliseconds'), *a, flush=True)

def deliver(mail_from, rcpts, data, utf8):
    lmtp = smtplib.LMTP(lmtp_path)
    try:
        opts = ['SMTPUTF8'] if utf8 and lmtp.has_extn('smtputf8') else []
        return lmtp.sendmail(mail_from, rcpts, data, mail_options=opts)   # {} when all accepted
    finally:
        try:
            lmtp.quit()
        except Exception:
            pass

class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if base_address(address) not in load_users():
            if not catchall:
                return '550 5.1.1 <%s>: Recipient address rejected: User unknown' % address
            envelope.__dict__.setdefault('caught', []).append(address)
            address = catchall
        if address not in envelope.rcpt_tos:
            envelope.rcpt_tos.append(address)
        return '250 2.1.5 OK'

    async def handle_DATA(self, server, session, envelope):
        now = datetime.datetime.now(datetime.timezone.utc).strftime('%a, %d %b %Y %H:%M:%S +0000')
        received = ('Received: from %s ([%s])\r\n\tby mail.example.test (smtp2lmtp) with ESMTP;\r\n\t%s\r\n'
                    % (session.host_name, session.peer[0], now)).encode()
        caught = ''.join('X-Original-To: %s\r\n' % a for a in envelope.__dict__.get('caught', []))
        data = caught.encode() + received + envelope.original_content
        utf8 = 'SMTPUTF8' in [o.upper() for o in envelope.mail_options]
        try:
            refused = await asyncio.get_running_loop().run_in_executor(
                None, deliver, envelope.mail_from, envelope.rcpt_tos, data, utf8)
        except smtplib.SMTPRecipientsRefused as e:
            log('LMTP refused all', e.recipients)
            return '550 5.1.1 delivery refused'
        except Exception as e:
            log('LMTP error', repr(e))
            return '451 4.3.0 local delivery failed: %s' % e
        if refused:
            log('LMTP refused some', refused)
            return '451 4.3.0 some recipients failed'
        log('delivered from=<%s> to=%s size=%d' % (envelope.mail_from, envelope.rcpt_tos, len(data)))
        return '250 2.0.0 OK delivered'

class RelaySMTP(SMTP):
    # Dovecot's submission service passes the client's login on as MAIL FROM's AUTH=
    # parameter (RFC 4954), which aiosmtpd does not know: take it as a comment.
    def _getparams(self, params):
        found = super()._getparams(params)
        if found is not None:
            found.pop('AUTH', None)
        return found

def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (isinstance(auth_data, LoginPassword) and
          load_users().get(auth_data.login.decode().lower()) == auth_data.password.decode())
    # handled=False => aiosmtpd answers 235/535 itself (default handled=True answers NOTHING)
    return AuthResult(success=ok, handled=False, auth_data=auth_data)

async def main():
    loop = asyncio.get_running_loop()
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    kw = dict(hostname='mail.example.test', enable_SMTPUTF8=True, authenticator=authenticator,
              auth_required=False, auth_require_tls=False)
    handler = Handler()
    s1 = await loop.create_server(lambda: RelaySMTP(handler, tls_context=tls, **kw),
                                  '127.0.0.1', int(smtp_port))                  # plain + STARTTLS
    s2 = await loop.create_server(lambda: RelaySMTP(handler, **kw),
                                  '127.0.0.1', int(smtps_port), ssl=tls)        # implicit TLS
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    with open(pidfile, 'w') as f:
        f.write('%d\n' % os.getpid())
    log('ready on 127.0.0.1:%s (STARTTLS) and :%s (TLS) -> lmtp:%s' % (smtp_port, smtps_port, lmtp_path))
    await stop.wait()
    s1.close(); s2.close()
    await s1.wait_closed(); await s2.wait_closed()
    log('stopped')

asyncio.run(main())
PYEOF
}

write_postfix_conf() {
  mkdir -p "$D/postfix/etc" "$D/postfix/spool" "$D/postfix/data"
  chown postfix "$D/postfix/data"
  # keep the queue OUTSIDE the config dir, else "postfix check" warns "not owned by root".
  # write_if_changed: a main.cf newer than the last start makes "postfix start" ~2 s slower.
  write_if_changed "$D/postfix/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $D/postfix/spool
data_directory = $D/postfix/data
mail_owner = postfix
setgid_group = postdrop
maillog_file_prefixes = $D/log
maillog_file = $D/log/postfix.log
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mail.$DOMAIN
mydomain = $DOMAIN
myorigin = \$mydomain
mydestination =
mynetworks = 127.0.0.0/8
relay_domains =
alias_maps =
alias_database =
local_recipient_maps =
biff = no
smtputf8_enable = yes
recipient_delimiter = +
virtual_mailbox_domains = $DOMAIN
virtual_mailbox_maps = texthash:$D/postfix/etc/vmailbox
virtual_transport = lmtp:unix:$D/run/lmtp
smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_error_sleep_time = 0
smtpd_tls_cert_file = $D/tls/server.pem
smtpd_tls_key_file = $D/tls/server.key
smtpd_tls_security_level = may
smtpd_tls_auth_only = no
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = $D/run/auth-postfix
EOF
  # no chroot anywhere ("n" in column 5): paths above are absolute host paths
  write_if_changed "$D/postfix/etc/master.cf" <<EOF
127.0.0.1:$SMTP_PORT inet n - n - - smtpd
127.0.0.1:$SMTPS_PORT inet n - n - - smtpd -o smtpd_tls_wrappermode=yes
pickup    unix  n - n 60    1 pickup
cleanup   unix  n - n -     0 cleanup
qmgr      unix  n - n 300   1 qmgr
tlsmgr    unix  - - n 1000? 1 tlsmgr
rewrite   unix  - - n -     - trivial-rewrite
bounce    unix  - - n -     0 bounce
defer     unix  - - n -     0 bounce
trace     unix  - - n -     0 bounce
verify    unix  - - n -     1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -     - proxymap
smtp      unix  - - n -     - smtp
relay     unix  - - n -     - smtp
showq     unix  n - n -     - showq
error     unix  - - n -     - error
retry     unix  - - n -     - error
discard   unix  - - n -     - discard
lmtp      unix  - - n -     - lmtp
anvil     unix  - - n -     1 anvil
scache    unix  - - n -     1 scache
postlog   unix-dgram n - n - 1 postlogd
EOF
  cut -d: -f1 "$D/users" | sed 's/$/ OK/' | write_if_changed "$D/postfix/etc/vmailbox"
}

cmd_start() {
  command -v dovecot >/dev/null || die "dovecot not installed: run '$0 install'"
  if [ -s "$D/run/master.pid" ] && pid_alive "$(tr -dc 0-9 < "$D/run/master.pid")"; then
    die "already running in $D (run '$0 stop' first)"
  fi
  local t0 p; t0=$(date +%s%N)
  for p in "$IMAP_PORT" "$IMAPS_PORT" "$SMTP_PORT" "$SMTPS_PORT" "$LMTP_PORT" "$SUBMISSION_PORT" "$TOKEN_PORT" "$TOKEN_ADMIN_PORT"; do
    port_busy "$p" && die "127.0.0.1:$p is already in use (another instance? set MAILTEST_*_PORT)"
  done
  case "$D" in /*) ;; *) die "MAILTEST_DIR must be an absolute path" ;; esac
  # Dovecot's auth (user dovecot) and mail processes (uid $VUID) must traverse every parent dir
  local a=$D
  while [ "$a" != / ]; do
    a=$(dirname "$a")
    [ $(( 0$(stat -c %a "$a") & 1 )) -eq 1 ] || die "$a is not world-executable (o+x): put MAILTEST_DIR under /tmp"
  done
  STARTING=1
  mkdir -p "$D"/{run,state,log,mail}
  chmod 755 "$D"
  chown "$VUID:$VUID" "$D/mail"
  write_users; make_tls; write_dovecot_conf
  echo "$SMTP_IMPL" > "$D/smtp_impl"

  # The token server first: Dovecot's oauth2 passdb asks it about every token.
  setsid "$PY" "$HERE/oauth2-token.py" "$TOKEN_PORT" "$TOKEN_ADMIN_PORT" "$D/tls/server.pem" "$D/tls/server.key" \
    "$D/run/token.pid" </dev/null >>"$D/log/token.log" 2>&1 &
  wait_port "$TOKEN_PORT" && wait_port "$TOKEN_ADMIN_PORT" || die "token server not listening (see $D/log/token.log)"

  # Dovecot daemonizes (setsid) but KEEPS the caller's stderr: never start it with a pipe on
  # stdout/stderr (Command::output(), $(...)) or the caller waits forever -> redirect to a file.
  dovecot -c "$D/dovecot.conf" </dev/null >>"$D/log/dovecot.stderr" 2>&1 \
    || { cat "$D/log/dovecot.stderr" "$D/log/dovecot.log" >&2 2>/dev/null; die "dovecot failed"; }
  wait_port "$IMAP_PORT" || die "dovecot not listening on $IMAP_PORT (see $D/log/dovecot.log)"
  wait_port "$SUBMISSION_PORT" || die "dovecot submission not listening on $SUBMISSION_PORT (see $D/log/dovecot.log)"

  if [ "$SMTP_IMPL" = postfix ]; then
    write_postfix_conf
    postfix -c "$D/postfix/etc" start </dev/null >>"$D/log/postfix.stderr" 2>&1 \
      || die "postfix failed (see $D/log/postfix.log)"
    tr -dc 0-9 < "$D/postfix/spool/pid/master.pid" > "$D/run/smtp.pid"   # file is space-padded
  else
    write_relay
    setsid "$PY" "$D/smtp2lmtp.py" "$D/users" "$D/run/lmtp" "$SMTP_PORT" "$SMTPS_PORT" \
      "$D/tls/server.pem" "$D/tls/server.key" "$D/run/smtp.pid" "$CATCHALL" </dev/null >>"$D/log/smtp.log" 2>&1 &
  fi
  wait_port "$SMTP_PORT" && wait_port "$SMTPS_PORT" || die "SMTP not listening on $SMTP_PORT (see $D/log)"
  for i in $(seq 1 100); do [ -s "$D/run/smtp.pid" ] && break; sleep 0.05; done
  cmd_env > "$D/env"
  STARTING=""
  log "up in $(( ($(date +%s%N) - t0) / 1000000 )) ms: IMAP 127.0.0.1:$IMAP_PORT(+STARTTLS) /$IMAPS_PORT(TLS)," \
      "SMTP($SMTP_IMPL) 127.0.0.1:$SMTP_PORT(+STARTTLS) /$SMTPS_PORT(TLS), LMTP :$LMTP_PORT," \
      "submission :$SUBMISSION_PORT, OAuth2 tokens https :$TOKEN_PORT (admin :$TOKEN_ADMIN_PORT); env: $D/env"
}

cmd_stop() {
  # SMTP first: Postfix keeps Dovecot's auth process busy (SASL socket), which would delay Dovecot's exit
  stop_pidfile "$D/run/smtp.pid" 'smtp2lmtp|postfix|master'
  stop_pidfile "$D/run/master.pid" 'dovecot'
  stop_pidfile "$D/run/token.pid" 'oauth2-token'
  log "stopped ($D kept; rm -rf it to wipe mail)"
}

cmd_status() {
  local f
  for f in "$D/run/master.pid" "$D/run/smtp.pid" "$D/run/token.pid"; do
    if [ -s "$f" ] && pid_alive "$(tr -dc 0-9 < "$f")"; then echo "running: $f pid $(tr -dc 0-9 < "$f")"; else echo "stopped: $f"; fi
  done
}

cmd_env() {
  cat <<EOF
export MAILTEST_DIR=$D
export MAILTEST_IMAP_HOST=127.0.0.1 MAILTEST_IMAP_PORT=$IMAP_PORT MAILTEST_IMAPS_PORT=$IMAPS_PORT
export MAILTEST_SMTP_HOST=127.0.0.1 MAILTEST_SMTP_PORT=$SMTP_PORT MAILTEST_SMTPS_PORT=$SMTPS_PORT
export MAILTEST_LMTP_PORT=$LMTP_PORT MAILTEST_LMTP_SOCKET=$D/run/lmtp
export MAILTEST_TLS_NAME=localhost MAILTEST_CA_PEM=$D/tls/ca.pem
export MAILTEST_DOVECOT_CONF=$D/dovecot.conf
export MAILTEST_SUBMISSION_PORT=$SUBMISSION_PORT MAILTEST_TOKEN_PORT=$TOKEN_PORT MAILTEST_TOKEN_ADMIN_PORT=$TOKEN_ADMIN_PORT
EOF
}

cmd_adduser() {  # adduser EMAIL PASSWORD  (works while running)
  [ $# -eq 2 ] || die "usage: $0 adduser EMAIL PASSWORD"
  echo "$1:{PLAIN}$2::::::" >> "$D/users"
  # Dovecot re-stats passwd-file at most once per second: wait until the user resolves
  local i
  for i in $(seq 1 40); do
    doveadm -c "$D/dovecot.conf" user "$1" >/dev/null 2>&1 && break; sleep 0.1
  done
  if [ "$(cat "$D/smtp_impl" 2>/dev/null)" = postfix ]; then
    echo "$1 OK" >> "$D/postfix/etc/vmailbox"
    postfix -c "$D/postfix/etc" reload </dev/null >>"$D/log/postfix.stderr" 2>&1
  fi
}

case "${1:-}" in
  install) cmd_install ;;
  start)   cmd_start ;;
  stop)    cmd_stop ;;
  status)  cmd_status ;;
  env)     cmd_env ;;
  adduser) shift; cmd_adduser "$@" ;;
  *) echo "usage: $0 install|start|stop|status|env|adduser EMAIL PASSWORD" >&2; exit 2 ;;
esac
