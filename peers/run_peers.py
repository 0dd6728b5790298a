#!/usr/bin/env python3
"""The `peers` suite: polytls against independent TLS implementations over TCP.

    run_peers.py --polytls PATH --pki DIR --backend NAME --side server|client

--side server: `polytls server` on BACKEND, reached by curl, `openssl s_client`,
  `gnutls-cli` and Python's ssl module (handshake, request, response, SNI
  choosing between the server.test and other.test chains, a required client
  certificate presented -- and refused when missing).
--side client: `polytls client` on BACKEND against `openssl s_server`,
  `gnutls-serv`, nginx and lighttpd + mod_wolfssl (handshake, verification
  against the test CA, hostname mismatch rejected, ALPN, TLS 1.2 forced,
  TLS 1.3 forced).

Everything runs on 127.0.0.1 on ephemeral ports; every process started here is
bounded by a deadline and killed and reaped. A peer that is not installed is a
failure when $CI is set (CI installs them) and a skip with a message otherwise.
$POLYTLS_PEERS_WRAPPER (e.g. "valgrind -q --error-exitcode=99") prefixes every
polytls command line, so the polytls processes, not this script, get checked.
Exit status: 0 all passed, 1 a check failed, 77 every peer was missing (skip).
"""
import argparse
import os
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

DEADLINE = 20.0 * float(os.environ.get("POLYTLS_PEERS_TIME_FACTOR", "1"))
REQUEST = b"GET / HTTP/1.0\r\nHost: server.test\r\n\r\n"

results = []  # (status, name, detail)
started = []  # every long-running process, killed and reaped on the way out whatever happens


def report(ok, name, detail=""):
    results.append(("ok" if ok else "FAIL", name, detail))
    line = ("ok   - " if ok else "FAIL - ") + name
    if detail and not ok:
        line += "\n       " + detail.replace("\n", "\n       ")
    print(line, flush=True)


def skip(name, why):
    if os.environ.get("CI"):
        report(False, name, why + " (CI must install it: see tools/test-all.sh)")
    else:
        results.append(("skip", name, why))
        print("SKIP - %s: %s" % (name, why), flush=True)


def have(cmd):
    return shutil.which(cmd) is not None or os.path.exists(cmd)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=8.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def stop(proc, timeout=8.0):
    """SIGTERM, wait, SIGKILL; always reaps. Returns (exit status, stdout, stderr)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    return proc.returncode, out or b"", err or b""


def run(argv, stdin=b"", timeout=DEADLINE, env=None):
    """Runs a command to completion with a deadline. Returns (rc, out, err);
    rc None when it had to be killed."""
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, start_new_session=True)
    try:
        out, err = proc.communicate(stdin, timeout=timeout)
        return proc.returncode, out, err
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        return None, out, err


def run_until(argv, stdin, marker, timeout=DEADLINE):
    """For clients that quit as soon as stdin ends (gnutls-cli): writes
    `stdin`, keeps stdin open until `marker` shows in the output (or the
    deadline), then closes it. Returns (rc, out, err)."""
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    os.set_blocking(proc.stdout.fileno(), False)
    out = b""
    end = time.monotonic() + timeout
    try:
        proc.stdin.write(stdin)
        proc.stdin.flush()
    except BrokenPipeError:
        pass
    while time.monotonic() < end and proc.poll() is None and marker not in out:
        try:
            chunk = proc.stdout.read()
            if chunk:
                out += chunk
                continue
        except BlockingIOError:
            pass
        time.sleep(0.02)
    try:
        proc.stdin.close()
    except BrokenPipeError:
        pass
    proc.stdin = None  # closed: communicate() must not touch it
    try:
        rest, err = proc.communicate(timeout=max(1.0, end - time.monotonic()))
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        rest, err = proc.communicate()
    return proc.returncode, out + (rest or b""), err or b""


def short(b, n=1500):
    t = b.decode("utf-8", "replace") if isinstance(b, bytes) else str(b)
    return t if len(t) <= n else t[:n] + "..."


# --------------------------------------------------------------- server side


class PolytlsServer:
    """`polytls server` on an ephemeral port, stopped (and checked) by close()."""

    def __init__(self, args, extra):
        self.argv = args.wrapper + [args.polytls, "server", "--backend", args.backend,
                                    "--port", "0", "--timeout", "10"] + extra
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, start_new_session=True)
        started.append(self.proc)
        self.port = None
        line = b""
        end = time.monotonic() + DEADLINE
        os.set_blocking(self.proc.stdout.fileno(), False)
        while time.monotonic() < end and b"\n" not in line and self.proc.poll() is None:
            try:
                chunk = self.proc.stdout.read()
                if chunk:
                    line += chunk
                    continue
            except BlockingIOError:
                pass
            time.sleep(0.02)
        words = line.split()
        if line.startswith(b"listening on") and len(words) >= 5:
            self.port = int(words[4])

    def close(self, name):
        rc, out, err = stop(self.proc, timeout=DEADLINE)
        # SIGTERM ends the server cleanly: exit 0, nothing leaked (ASan and
        # valgrind report through the exit status).
        report(rc == 0, name + ": server exits cleanly on SIGTERM",
               "exit %s\nstderr: %s" % (rc, short(err)))
        return err


def server_side(args, pki):
    root = os.path.join(pki, "root.pem")
    sni_args = ["--cert", os.path.join(pki, "server-ec-chain.pem"), "--key", os.path.join(pki, "server-ec.key"),
                "--cert", os.path.join(pki, "other-chain.pem"), "--key", os.path.join(pki, "other.key"),
                "--alpn", "http/1.1"]
    b = args.backend
    tag = "polytls-server[%s]" % b

    # --- SNI server: two chains, server.test (default) and other.test
    srv = PolytlsServer(args, sni_args + ["-v"])
    if srv.port is None:
        report(False, tag + " starts", short(srv.close(tag)))
        return
    port = srv.port
    for host in ("server.test", "other.test"):
        want = ("sni=%s" % host).encode()
        # curl verifies the certificate for `host` against the test CA: the
        # right chain was chosen, or the handshake fails.
        name = "%s <- curl SNI %s" % (tag, host)
        if have("curl"):
            rc, out, err = run(["curl", "-sS", "--max-time", "10", "--cacert", root,
                                "--resolve", "%s:%d:127.0.0.1" % (host, port),
                                "https://%s:%d/" % (host, port)])
            report(rc == 0 and want in out and b"client-cert=no" in out, name,
                   "rc %s out %s err %s" % (rc, short(out), short(err)))
        else:
            skip(name, "curl is not installed")

        name = "%s <- openssl s_client SNI %s" % (tag, host)
        if have("openssl"):
            rc, out, err = run_until(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port,
                                      "-servername", host, "-CAfile", root, "-verify_return_error",
                                      "-verify_hostname", host, "-quiet", "-no_ign_eof"],
                                     REQUEST, b"client-cert=")
            report(want in out and b"HTTP/1.1 200 OK" in out, name,
                   "rc %s out %s err %s" % (rc, short(out), short(err)))
        else:
            skip(name, "openssl is not installed")

        name = "%s <- gnutls-cli SNI %s" % (tag, host)
        if have("gnutls-cli"):
            rc, out, err = run_until(["gnutls-cli", "--x509cafile", root, "--sni-hostname", host,
                                      "--verify-hostname", host, "--port", str(port), "--logfile", "/dev/null",
                                      "127.0.0.1"], REQUEST, b"client-cert=")
            report(want in out and b"HTTP/1.1 200 OK" in out, name,
                   "rc %s out %s err %s" % (rc, short(out), short(err)))
        else:
            skip(name, "gnutls-cli is not installed")

        name = "%s <- python ssl SNI %s" % (tag, host)
        try:
            ctx = ssl.create_default_context(cafile=root)
            ctx.set_alpn_protocols(["http/1.1"])
            with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
                with ctx.wrap_socket(raw, server_hostname=host) as s:
                    s.sendall(REQUEST)
                    data = b""
                    while True:
                        chunk = s.recv(4096)
                        if not chunk:
                            break
                        data += chunk
                    alpn = s.selected_alpn_protocol()
            report(want in data and alpn == "http/1.1" and b"alpn=http/1.1" in data, name,
                   "alpn %r response %s" % (alpn, short(data)))
        except Exception as e:  # noqa: BLE001 -- any failure is the finding
            report(False, name, repr(e))
    # A peer that sends garbage, and one that connects and stalls: the
    # server survives both and still serves the next client.
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as g:
            g.sendall(b"\x16\x03\x01\x00\x05hello, this is not TLS\r\n" * 4)
            g.settimeout(10)
            reply = g.recv(100)
        with socket.create_connection(("127.0.0.1", port), timeout=10):
            pass  # vanishes without a byte
        stall = socket.create_connection(("127.0.0.1", port), timeout=10)
        ctx = ssl.create_default_context(cafile=root)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="server.test") as s:
                s.sendall(REQUEST)
                data = b""
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
        stall.close()
        report(reply[:1] == b"\x15" and b"sni=server.test" in data,
               tag + ": garbage gets an alert, a vanishing and a stalled peer do not block the next client",
               "garbage reply %r, next response %s" % (reply, short(data)))
    except Exception as e:  # noqa: BLE001
        report(False, tag + ": garbage / stalled peers", repr(e))
    srv.close(tag + " (SNI)")

    # --- client certificate required
    srv = PolytlsServer(args, sni_args + ["--client-ca", os.path.join(pki, "client-ca1.pem"),
                                          "--require-client-cert"])
    if srv.port is None:
        report(False, tag + " starts with --require-client-cert", short(srv.close(tag)))
        return
    port = srv.port
    ccert = os.path.join(pki, "client1-chain.pem")
    ckey = os.path.join(pki, "client1.key")
    want = b"client-cert=yes"
    name = tag + " <- curl with a required client certificate"
    if have("curl"):
        rc, out, err = run(["curl", "-sS", "--max-time", "10", "--cacert", root, "--cert", ccert, "--key", ckey,
                            "--resolve", "server.test:%d:127.0.0.1" % port, "https://server.test:%d/" % port])
        report(rc == 0 and want in out, name, "rc %s out %s err %s" % (rc, short(out), short(err)))
        rc, out, err = run(["curl", "-sS", "--max-time", "10", "--cacert", root,
                            "--resolve", "server.test:%d:127.0.0.1" % port, "https://server.test:%d/" % port])
        report(rc != 0 and want not in out, tag + " <- curl without the required client certificate is refused",
               "rc %s out %s err %s" % (rc, short(out), short(err)))
    else:
        skip(name, "curl is not installed")
    name = tag + " <- openssl s_client with a required client certificate"
    if have("openssl"):
        rc, out, err = run_until(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port,
                                  "-servername", "server.test", "-CAfile", root, "-verify_return_error",
                                  "-cert", ccert, "-key", ckey, "-quiet", "-no_ign_eof"], REQUEST, want)
        report(want in out, name, "rc %s out %s err %s" % (rc, short(out), short(err)))
    else:
        skip(name, "openssl is not installed")
    name = tag + " <- gnutls-cli with a required client certificate"
    if have("gnutls-cli"):
        rc, out, err = run_until(["gnutls-cli", "--x509cafile", root, "--sni-hostname", "server.test",
                                  "--verify-hostname", "server.test", "--x509certfile", ccert,
                                  "--x509keyfile", ckey, "--port", str(port), "--logfile", "/dev/null",
                                  "127.0.0.1"], REQUEST, want)
        report(want in out, name, "rc %s out %s err %s" % (rc, short(out), short(err)))
    else:
        skip(name, "gnutls-cli is not installed")
    name = tag + " <- python ssl with a required client certificate"
    try:
        ctx = ssl.create_default_context(cafile=root)
        ctx.load_cert_chain(ccert, ckey)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="server.test") as s:
                s.sendall(REQUEST)
                data = b""
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
        report(want in data, name, short(data))
    except Exception as e:  # noqa: BLE001
        report(False, name, repr(e))
    srv.close(tag + " (client certificate)")

    # --- session resumption: tickets from a polytls server, offered again by
    # openssl s_client (-sess_out / -sess_in), gnutls-cli --resume and Python.
    srv = PolytlsServer(args, sni_args[:4] + ["--resumption"])
    if srv.port is None:
        report(False, tag + " --resumption starts", short(srv.close(tag)))
        return
    port = srv.port
    with tempfile.TemporaryDirectory(prefix="polytls-peers-") as tmp:
        for vflag, version in (("-tls1_3", "TLSv1.3"), ("-tls1_2", "TLSv1.2")):
            name = "%s --resumption <- openssl s_client %s: session resumed" % (tag, version)
            if not have("openssl"):
                skip(name, "openssl is not installed")
                continue
            sess = os.path.join(tmp, "session-%s.pem" % version)
            base = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-servername", "server.test",
                    "-CAfile", root, "-verify_return_error", vflag, "-ign_eof"]
            rc1, out1, err1 = run(base + ["-sess_out", sess], REQUEST)
            rc2, out2, err2 = run(base + ["-sess_in", sess], REQUEST)
            report(b"New, " + version.encode() in out1 and b"Reused, " + version.encode() in out2 and
                   b"resumed=yes" in out2 and b"resumed=no" in out1, name,
                   "first: rc %s %s\nsecond: rc %s %s %s" % (rc1, short(out1, 600), rc2, short(out2, 600),
                                                            short(err2)))
        name = tag + " --resumption <- gnutls-cli --resume: session resumed"
        if have("gnutls-cli"):
            rc, out, err = run(["gnutls-cli", "--x509cafile", root, "--sni-hostname", "server.test",
                                "--verify-hostname", "server.test", "--port", str(port), "--resume",
                                "127.0.0.1"], b"")   # no --logfile: the verdict is an informational line
            report(b"This is a resumed session" in out + err, name,
                   "rc %s out %s err %s" % (rc, short(out), short(err)))
        else:
            skip(name, "gnutls-cli is not installed")
        for version in (ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2):
            name = "%s --resumption <- python ssl %s: session resumed" % (tag, version.name)
            try:
                ctx = ssl.create_default_context(cafile=root)
                ctx.minimum_version = ctx.maximum_version = version
                session, data = None, []
                for _ in range(2):
                    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
                        with ctx.wrap_socket(raw, server_hostname="server.test", session=session) as tls:
                            tls.sendall(REQUEST)
                            got = b""
                            while True:
                                chunk = tls.recv(4096)
                                if not chunk:
                                    break
                                got += chunk
                            data.append((tls.session_reused, got))
                            session = tls.session
                            # OpenSSL marks a session not resumable when its
                            # SSL is freed without SSL_shutdown (openssl#4720):
                            # answer the server's close_notify first.
                            try:
                                tls.unwrap()
                            except (ssl.SSLError, OSError):
                                pass
                report(not data[0][0] and data[1][0] and b"resumed=yes" in data[1][1], name,
                       "reused %r / %r, second response %s" % (data[0][0], data[1][0], short(data[1][1])))
            except Exception as e:  # noqa: BLE001
                report(False, name, repr(e))
    srv.close(tag + " (resumption)")

    # --- echo mode, --once, IPv6 loopback: polytls client to polytls server
    # (same backend), 200 kB through both poll loops and back.
    bind = "::1" if socket.has_ipv6 and ipv6_loopback() else "127.0.0.1"
    srv = PolytlsServer(args, sni_args[:4] + ["--echo", "--once", "--bind", bind])
    if srv.port is None:
        report(False, tag + " --echo starts", short(srv.close(tag)))
        return
    data = bytes((i * 7 + i // 251) % 256 for i in range(200000))
    host = "[::1]" if bind == "::1" else "127.0.0.1"
    rc, out, err = run(args.wrapper + [args.polytls, "client", "--backend", b, "--cafile", root,
                                       "--servername", "server.test", "--close-on-eof", "--timeout", "10",
                                       "%s:%d" % (host, srv.port)], data)
    try:
        srv_rc = srv.proc.wait(timeout=DEADLINE)
    except subprocess.TimeoutExpired:
        srv_rc = None
    srv_err = srv.close(tag + " (echo)")
    report(rc == 0 and out == data, "%s --echo --once on %s <- polytls client: 200 kB echoed" % (tag, bind),
           "rc %s, %d of %d bytes back, err %s\nserver: %s" % (rc, len(out), len(data), short(err), short(srv_err)))
    report(srv_rc == 0, tag + " --once exits by itself after the connection", "exit %s" % srv_rc)


def ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as s6:
            s6.bind(("::1", 0))
        return True
    except OSError:
        return False


def bad_server(behaviour):
    """A TCP listener on 127.0.0.1 that misbehaves once: 'garbage' answers
    the ClientHello with HTTP, 'vanish' closes at once, 'stall' reads and
    never answers. Returns (port, thread)."""
    import threading
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    ls.settimeout(DEADLINE)

    def serve():
        try:
            conn, _ = ls.accept()
            with conn:
                if behaviour == "garbage":
                    conn.recv(4096)
                    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                    time.sleep(0.5)
                elif behaviour == "stall":
                    conn.settimeout(DEADLINE)
                    while conn.recv(4096):
                        pass
        except OSError:
            pass
        finally:
            ls.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    return ls.getsockname()[1], t


# --------------------------------------------------------------- client side


def peer_openssl(pki, port, tmp):
    return ["openssl", "s_server", "-accept", "127.0.0.1:%d" % port, "-www", "-alpn", "http/1.1",
            "-cert", os.path.join(pki, "server-ec.pem"), "-key", os.path.join(pki, "server-ec.key"),
            "-cert_chain", os.path.join(pki, "inter.pem")]


def peer_openssl_verify(pki, port, tmp):
    """s_server that requires a client certificate issued by client-ca1."""
    return peer_openssl(pki, port, tmp) + ["-Verify", "1", "-verify_return_error",
                                           "-CAfile", os.path.join(pki, "client-ca1.pem")]


def peer_gnutls(pki, port, tmp):
    # gnutls-serv 3.7 cannot be told an address: it listens on every
    # interface, on an ephemeral port, only while the test runs.
    # By default it asks for an optional client certificate, which a
    # wolfSSL 5.5 client cannot decline in TLS 1.3 (a known deviation):
    # certificates are tested against peer_openssl_verify instead.
    return ["gnutls-serv", "--http", "--port", str(port), "--alpn", "http/1.1", "--disable-client-cert",
            "--x509certfile", os.path.join(pki, "server-ec-chain.pem"),
            "--x509keyfile", os.path.join(pki, "server-ec.key")]


def peer_nginx(pki, port, tmp):
    t = os.path.join(tmp, "nginx-tmp")
    os.makedirs(t, exist_ok=True)
    conf = os.path.join(tmp, "nginx.conf")
    with open(conf, "w") as f:
        f.write("""daemon off;
master_process off;
worker_processes 1;
pid %(tmp)s/nginx.pid;
error_log %(tmp)s/nginx-error.log;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path %(t)s; proxy_temp_path %(t)s; fastcgi_temp_path %(t)s;
    uwsgi_temp_path %(t)s; scgi_temp_path %(t)s;
    server {
        listen 127.0.0.1:%(port)d ssl;
        server_name server.test;
        ssl_certificate %(pki)s/server-ec-chain.pem;
        ssl_certificate_key %(pki)s/server-ec.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        location / { return 200 "hello from nginx\\n"; }
    }
}
""" % {"tmp": tmp, "t": t, "port": port, "pki": pki})
    return [shutil.which("nginx") or "/usr/sbin/nginx", "-p", tmp, "-e", os.path.join(tmp, "nginx-error.log"),
            "-c", conf]


def peer_lighttpd(pki, port, tmp):
    www = os.path.join(tmp, "www")
    os.makedirs(www, exist_ok=True)
    with open(os.path.join(www, "index.html"), "w") as f:
        f.write("hello from lighttpd\n")
    with open(os.path.join(tmp, "cas.pem"), "w") as f:
        for name in ("inter.pem", "root.pem"):
            with open(os.path.join(pki, name)) as src:
                f.write(src.read())
    conf = os.path.join(tmp, "lighttpd.conf")
    with open(conf, "w") as f:
        f.write("""server.document-root = "%(www)s"
server.bind = "127.0.0.1"
server.port = %(port)d
server.errorlog = "%(tmp)s/lighttpd-error.log"
index-file.names = ("index.html")
server.modules += ("mod_wolfssl")
ssl.engine = "enable"
ssl.pemfile = "%(pki)s/server-ec-chain.pem"
ssl.privkey = "%(pki)s/server-ec.key"
# The issuer chain must also be in the CA store: without it, mod_wolfssl
# fails handshakes with GnuTLS clients (wolfSSL error -188, ASN_NO_SIGNER_E,
# most likely while preparing OCSP stapling for the status_request extension
# GnuTLS clients send); OpenSSL and wolfSSL clients are not affected.
ssl.ca-file = "%(tmp)s/cas.pem"
""" % {"www": www, "tmp": tmp, "port": port, "pki": pki})
    return [shutil.which("lighttpd") or "/usr/sbin/lighttpd", "-D", "-f", conf]


PEERS = [
    ("openssl s_server", "openssl", peer_openssl, None),
    ("openssl s_server -Verify", "openssl", peer_openssl_verify, None),
    ("gnutls-serv", "gnutls-serv", peer_gnutls, None),
    ("nginx", "nginx", peer_nginx, None),
    ("lighttpd+mod_wolfssl", "lighttpd", peer_lighttpd, "/usr/lib/lighttpd/mod_wolfssl.so"),
]


def client_side(args, pki):
    root = os.path.join(pki, "root.pem")
    b = args.backend
    # Servers that are not TLS servers: the client fails cleanly, in time.
    for behaviour, timeout in (("garbage", "10"), ("vanish", "10"), ("stall", "1")):
        port, t = bad_server(behaviour)
        start = time.monotonic()
        rc, out, err = run(args.wrapper + [args.polytls, "client", "--backend", b, "--cafile", root,
                                           "--servername", "server.test", "--timeout", timeout,
                                           "127.0.0.1:%d" % port], REQUEST)
        took = time.monotonic() - start
        t.join(DEADLINE)
        report(rc == 1 and out == b"" and b"polytls client:" in err and took < DEADLINE,
               "polytls-client[%s] -> a server that %s: exit 1 with a message (%.1f s)" % (
                   b, {"garbage": "answers in HTTP", "vanish": "vanishes", "stall": "stalls"}[behaviour], took),
               "rc %s err %s" % (rc, short(err)))
    for label, cmd, make, need_file in PEERS:
        tag = "polytls-client[%s] -> %s" % (b, label)
        exe = shutil.which(cmd) or ("/usr/sbin/" + cmd if os.path.exists("/usr/sbin/" + cmd) else None)
        if not exe or (need_file and not os.path.exists(need_file)):
            skip(tag, "%s is not installed" % (need_file if exe else cmd))
            continue
        with tempfile.TemporaryDirectory(prefix="polytls-peers-") as tmp:
            port = free_port()
            proc = subprocess.Popen(make(pki, port, tmp), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, start_new_session=True)
            started.append(proc)
            try:
                if not wait_port(port, proc):
                    rc, out, err = stop(proc)
                    report(False, tag + ": peer starts", "exit %s\nstdout %s\nstderr %s" % (rc, short(out), short(err)))
                    continue
                client = args.wrapper + [args.polytls, "client", "--backend", b, "--cafile", root,
                                         "--timeout", "10", "-v"]
                addr = "127.0.0.1:%d" % port

                def go(extra):
                    return run(client + extra + [addr], REQUEST)

                if make is peer_openssl_verify:
                    rc, out, err = go(["--servername", "server.test", "--cert", os.path.join(pki, "client1-chain.pem"),
                                       "--key", os.path.join(pki, "client1.key")])
                    report(rc == 0 and b" 200 " in out, tag + ": client certificate required and presented",
                           "rc %s out %s err %s" % (rc, short(out, 400), short(err)))
                    rc, out, err = go(["--servername", "server.test"])
                    report(rc == 1 and b" 200 " not in out, tag + ": no client certificate: refused",
                           "rc %s out %s err %s" % (rc, short(out, 400), short(err)))
                    continue
                rc, out, err = go(["--servername", "server.test"])
                report(rc == 0 and b"HTTP/1." in out and b" 200 " in out and b"connected:" in err,
                       tag + ": handshake, verification against the test CA, request, response",
                       "rc %s out %s err %s" % (rc, short(out, 400), short(err)))
                if args.quick and make is not peer_openssl:
                    continue  # under valgrind: every path once, not every peer x path
                rc, out, err = go(["--servername", "other.test"])
                report(rc == 1 and b"HTTP/" not in out and b"connected:" not in err,
                       tag + ": hostname mismatch (other.test) rejected",
                       "rc %s out %s err %s" % (rc, short(out, 400), short(err)))
                rc, out, err = go(["--servername", "server.test", "--alpn", "x-unknown,http/1.1"])
                report(rc == 0 and b"alpn=http/1.1" in err and b" 200 " in out, tag + ": ALPN http/1.1 negotiated",
                       "rc %s err %s" % (rc, short(err)))
                for flag, want in (("--tls1.2", b"protocol=TLS1.2"), ("--tls1.3", b"protocol=TLS1.3")):
                    rc, out, err = go(["--servername", "server.test", flag])
                    report(rc == 0 and want in err and b" 200 " in out, tag + ": " + flag + " forced",
                           "rc %s out %s err %s" % (rc, short(out, 400), short(err)))
                # Resumption: the session of a first connection (a TLS 1.3
                # ticket read with the response, a TLS 1.2 ticket or id)
                # offered on a second one, which the peer resumes.
                for flag in ("--tls1.2", "--tls1.3"):
                    rc, out, err = go(["--servername", "server.test", flag, "--reconnect"])
                    report(rc == 0 and b"reconnected: session resumed" in err and b" 200 " in out,
                           tag + ": " + flag + " session resumed on reconnection",
                           "rc %s out %s err %s" % (rc, short(out, 400), short(err)))
            finally:
                rc, out, err = stop(proc)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--polytls", required=True)
    ap.add_argument("--pki", required=True)
    ap.add_argument("--backend", required=True)
    ap.add_argument("--side", choices=["server", "client"], required=True)
    ap.add_argument("--quick", action="store_true",
                    help="client side: the full set against openssl s_server only, a handshake with the others")
    args = ap.parse_args()
    args.wrapper = shlex.split(os.environ.get("POLYTLS_PEERS_WRAPPER", ""))
    pki = os.path.abspath(args.pki)
    if not os.path.exists(os.path.join(pki, "root.pem")):
        print("no test PKI in %s (build the conformance-pki target)" % pki)
        return 1
    start = time.monotonic()
    try:
        (server_side if args.side == "server" else client_side)(args, pki)
    except Exception as e:  # noqa: BLE001 -- report it as a failure, after cleaning up
        report(False, "the driver itself", repr(e))
    finally:
        for proc in started:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate()
    counts = {k: sum(1 for r in results if r[0] == k) for k in ("ok", "FAIL", "skip")}
    print("%d ok, %d failed, %d skipped in %.1f s" % (counts["ok"], counts["FAIL"], counts["skip"],
                                                       time.monotonic() - start))
    if counts["FAIL"]:
        return 1
    return 77 if counts["ok"] == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
