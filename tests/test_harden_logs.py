#!/usr/bin/env python3
"""test_harden_logs.py BUILD SRC - the tools never print a secret, and
write key files safely.

Every tool runs with -v (where it has one) on success and failure paths:
a transfer in -m mode and through curvecp-message on fds 8/9, key
directories whose keys do not match, a short secret key file, an exposed
one (the warning must appear, naming the file), a missing key directory,
an existing one for curvecp-makekey, a client towards a server that never
answers. Everything they print on stdout and stderr is searched for every
secret key and nonce key involved, spelt raw, in hex (either case), Z85
and base64 (any 16-byte piece counts).

Then, if strace works here, curvecp-makekey and a client that takes a
vouch nonce from its key directory under strace: every key file is
created exclusively, 0600, under a temporary name and renamed into
place; no final key-file name is ever opened for creation or truncation.
"""
import base64
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time

BUILD = os.path.abspath(sys.argv[1])
TOOL = {name: os.path.join(BUILD, name) for name in
        ("curvecp-server", "curvecp-client", "curvecp-message", "curvecp-makekey", "curvecp-printkey")}
EXT = "000102030405060708090a0b0c0d0e0f"
failures = []
outputs = []          # (label, bytes) of everything the tools printed


def check(label, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + label + ("" if ok else ": " + detail))
    if not ok:
        failures.append(label)


Z85_CHARS = ("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
             ".-:+=^!/*?&<>()[]{}@%$#")


def z85(data):
    out = []
    for i in range(0, len(data), 4):
        value = int.from_bytes(data[i:i + 4], "big")
        chunk = []
        for _ in range(5):
            chunk.append(Z85_CHARS[value % 85])
            value //= 85
        out.extend(reversed(chunk))
    return "".join(out)


def spellings(secret):
    """Every 16-byte piece of the secret, in every spelling a log could use."""
    forms = []
    for off in range(0, len(secret) - 15, 4):
        piece = secret[off:off + 16]
        forms.append(piece)
        forms.append(piece.hex().encode())
        forms.append(piece.hex().upper().encode())
    text = z85(secret).encode()
    forms += [text[:20], text[20:]]
    b64 = base64.b64encode(secret)
    forms += [b64[:20], b64[20:40]]
    return forms


def run(label, args, timeout=10, expect=None, stdin=b"", cwd=None):
    """Run a tool, keep its output for the secret search, check its exit."""
    try:
        p = subprocess.run(args, input=stdin, capture_output=True, timeout=timeout, cwd=cwd)
        rc, out, err = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        rc, out, err = "timeout", e.stdout or b"", e.stderr or b""
    outputs.append((label, out + err))
    if expect is not None:
        check(label + " exits " + str(expect), rc == expect, "got %s, stderr %r" % (rc, err[:300]))
    return rc, out, err


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return str(port)


def secret_of(keydir, name="secretkey"):
    with open(os.path.join(keydir, ".expertsonly", name), "rb") as f:
        return f.read()


def public_hex(keydir):
    with open(os.path.join(keydir, "publickey"), "rb") as f:
        return f.read().hex()


class Server:
    """A curvecp-server in the background; its output joins the search."""

    def __init__(self, label, args):
        self.label = label
        self.out = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(["timeout", "30"] + args, stdout=self.out, stderr=self.out)
        time.sleep(0.3)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(timeout=10)
        self.out.seek(0)
        text = self.out.read()
        outputs.append((self.label, text))
        return text


def copy_keydir(src, dst, secret=None, mode=None):
    shutil.copytree(src, dst)
    path = os.path.join(dst, ".expertsonly", "secretkey")
    if secret is not None:
        with open(path, "wb") as f:
            f.write(secret)
    if mode is not None:
        os.chmod(path, mode)
    return dst


def transfers(work, skd, ckd):
    pk = public_hex(skd)
    port = free_port()
    server = Server("server -v -m", [TOOL["curvecp-server"], "-v", "-m", "test.example", skd, "127.0.0.1",
                                     port, EXT, "sh", "-c", "tr a-z A-Z"])
    rc, out, _ = run("client -v -c -m", [TOOL["curvecp-client"], "-v", "-c", ckd, "-m", "test.example", pk,
                                          "127.0.0.1", port, EXT, "sh", "-c",
                                          "echo hello >&7; exec 7>&-; cat <&6"], expect=0)
    check("-m transfer", out == b"HELLO\n", repr(out))
    server.stop()

    port = free_port()
    server = Server("server -v fd 8/9 + curvecp-message -v",
                    [TOOL["curvecp-server"], "-v", "test.example", skd, "127.0.0.1", port, EXT,
                     TOOL["curvecp-message"], "-v", "sh", "-c", "tr a-z A-Z"])
    rc, out, _ = run("client -v + curvecp-message -v -c",
                     [TOOL["curvecp-client"], "-v", "-c", ckd, "test.example", pk, "127.0.0.1", port, EXT,
                      TOOL["curvecp-message"], "-v", "-c", "sh", "-c", "echo again >&7; exec 7>&-; cat <&6"],
                     expect=0)
    check("fd 8/9 transfer", out == b"AGAIN\n", repr(out))
    server.stop()
    run("printkey", [TOOL["curvecp-printkey"], skd], expect=0)


def failures_paths(work, skd, ckd, other):
    pk = public_hex(skd)
    server = [TOOL["curvecp-server"], "-v", "test.example"]
    tail = ["127.0.0.1", free_port(), EXT, "cat"]
    mismatched = copy_keydir(skd, os.path.join(work, "mismatched"), secret=secret_of(other))
    short = copy_keydir(skd, os.path.join(work, "short"), secret=secret_of(skd)[:31])
    longer = copy_keydir(skd, os.path.join(work, "long"), secret=secret_of(skd) + b"\0")
    for name, kd in (("mismatched", mismatched), ("short", short), ("long", longer)):
        run("server -v, %s secret key" % name, server + [kd] + tail, expect=111)
        run("client -v -c, %s secret key" % name,
            [TOOL["curvecp-client"], "-v", "-c", kd, "test.example", pk] + tail, expect=111)
    run("server -v, no key directory", server + [os.path.join(work, "none")] + tail, expect=111)
    run("makekey over an existing directory", [TOOL["curvecp-makekey"], skd], expect=111)
    run("printkey of no directory", [TOOL["curvecp-printkey"], os.path.join(work, "none")], expect=111)
    # a server that never answers: the client keeps trying until killed
    run("client -v towards silence", [TOOL["curvecp-client"], "-v", "-c", ckd, "test.example", pk,
                                      "127.0.0.1", free_port(), EXT, "cat"], timeout=2.5)

    # exposed secret key files: a warning naming the file, the tool still works
    exposed = copy_keydir(skd, os.path.join(work, "exposed"), mode=0o644)
    port = free_port()
    s = Server("server -v, secret key readable by others",
               [TOOL["curvecp-server"], "-v", "-m", "test.example", exposed, "127.0.0.1", port, EXT, "cat"])
    cexposed = copy_keydir(ckd, os.path.join(work, "cexposed"), mode=0o640)
    rc, out, err = run("client -v -c with a secret key readable by group",
                       [TOOL["curvecp-client"], "-v", "-c", cexposed, "-m", "test.example", pk, "127.0.0.1",
                        port, EXT, "sh", "-c", "echo x >&7; exec 7>&-; cat <&6"], expect=0)
    text = s.stop()
    secret_path = os.path.join(exposed, ".expertsonly", "secretkey").encode()
    check("server warns about an exposed secret key", b"warning" in text and secret_path in text, repr(text))
    csecret_path = os.path.join(cexposed, ".expertsonly", "secretkey").encode()
    check("client warns about an exposed secret key", b"warning" in err and csecret_path in err, repr(err))
    check("client still works with an exposed key", out == b"x\n", repr(out))
    quiet = [label for label, text in outputs if label.startswith(("server -v -m", "client -v -c -m"))
             and b"warning" in text]
    check("0600 secret keys load without a warning", not quiet, str(quiet))


def search(secrets):
    hits = []
    for what, secret in secrets:
        forms = spellings(secret)
        for label, text in outputs:
            if any(form in text for form in forms):
                hits.append("%s in output of %s" % (what, label))
    check("no secret in %d outputs (%d secrets, %d spellings each)"
          % (len(outputs), len(secrets), len(spellings(secrets[0][1]))), not hits, "; ".join(hits))
    printed = sum(len(text) for _, text in outputs)
    check("the tools did print something to search (%d bytes)" % printed, printed > 500)


def strace_works():
    if not shutil.which("strace"):
        print("skip strace checks: strace not installed")
        return False
    probe = subprocess.run(["strace", "-o", "/dev/null", "true"], capture_output=True)
    if probe.returncode != 0:
        print("skip strace checks: strace cannot trace here")
        return False
    return True


def no_leak_check_under_ptrace():
    """LeakSanitizer cannot run under ptrace: in a sanitizer build it would
    abort every traced program, so the strace checks run without it."""
    opts = os.environ.get("ASAN_OPTIONS", "")
    os.environ["ASAN_OPTIONS"] = ":".join(filter(None, [opts, "detect_leaks=0"]))


def strace_nonce_counter(work, skd, ckd):
    """A client with -c takes a vouch nonce: its counter file is rewritten
    by a temporary file and a rename, never in place."""
    pk = public_hex(skd)
    port = free_port()
    server = Server("server for the traced client", [TOOL["curvecp-server"], "-m", "test.example", skd,
                                                     "127.0.0.1", port, EXT, "cat"])
    trace = os.path.join(work, "client-trace")
    before = open(os.path.join(ckd, ".expertsonly", "noncecounter"), "rb").read()
    run("traced client", ["strace", "-f", "-o", trace, "-e", "trace=open,openat,creat,rename,renameat,renameat2",
                          TOOL["curvecp-client"], "-c", ckd, "-m", "test.example", pk, "127.0.0.1", port, EXT,
                          "sh", "-c", "echo x >&7; exec 7>&-; cat <&6"], expect=0, timeout=20)
    server.stop()
    after = open(os.path.join(ckd, ".expertsonly", "noncecounter"), "rb").read()
    check("the client's nonce counter moved", before != after)
    lines = open(trace).read().splitlines()
    writes = [l for l in lines if "noncecounter" in l and ("O_CREAT" in l or "O_TRUNC" in l or "O_WRONLY" in l
                                                            or "O_RDWR" in l)]
    in_place = [l for l in writes if '/noncecounter"' in l]
    renames = [l for l in lines if "rename" in l and '/noncecounter"' in l and "= 0" in l]
    check("strace: noncecounter never opened for writing in place", writes and not in_place, "; ".join(writes))
    check("strace: noncecounter replaced by rename", len(renames) > 0, "; ".join(renames))


def strace_key_files(work, skd):
    trace = os.path.join(work, "trace")
    old = os.umask(0)
    try:
        subprocess.run(["strace", "-f", "-o", trace, "-e", "trace=open,openat,creat,rename,renameat,renameat2",
                        TOOL["curvecp-makekey"], os.path.join(work, "traced")], check=True, timeout=20)
    finally:
        os.umask(old)
    with open(trace) as f:
        lines = f.read().splitlines()
    finals = ["publickey", "secretkey", "noncekey", "noncecounter", "lock"]
    created = {}
    renamed = set()
    bad = []
    for line in lines:
        if "O_CREAT" in line or "creat(" in line:
            path = line.split('"')[1]
            base = os.path.basename(path)
            stem = base.split(".tmp-")[0]
            if stem in finals:
                if ".tmp-" not in base:
                    bad.append(line)
                else:
                    created[stem] = line
        if "O_TRUNC" in line and any(line.split('"')[1].endswith("/" + n) for n in finals):
            bad.append(line)
        if "rename" in line and "= 0" in line:
            renamed.add(os.path.basename(line.split('"')[3]))
    check("strace: no key file opened for creation under its final name", not bad, "; ".join(bad))
    for stem in finals:
        line = created.get(stem, "")
        want_mode = "0600"
        ok = "O_EXCL" in line and line.rstrip().split(",")[-1].split(")")[0].strip() == want_mode
        check("strace: %s created exclusively as 0600 under a temporary name" % stem, ok, line)
        check("strace: %s renamed into place" % stem, stem in renamed, str(sorted(renamed)))
    check("strace: the key directory renamed into place", "traced" in renamed, str(sorted(renamed)))
    for name, mode in (("secretkey", 0o600), ("noncekey", 0o600), ("noncecounter", 0o600), ("lock", 0o600)):
        got = stat.S_IMODE(os.stat(os.path.join(work, "traced", ".expertsonly", name)).st_mode)
        check("%s mode %o under umask 0" % (name, mode), got == mode, oct(got))


def main():
    work = tempfile.mkdtemp(prefix="curvecp-logs.")
    try:
        skd, ckd, other = (os.path.join(work, n) for n in ("skd", "ckd", "other"))
        for kd in (skd, ckd, other):
            run("makekey", [TOOL["curvecp-makekey"], kd], expect=0)
        secrets = [("%s %s" % (kd, name), secret_of(os.path.join(work, kd), name))
                   for kd in ("skd", "ckd", "other") for name in ("secretkey", "noncekey")]
        transfers(work, skd, ckd)
        failures_paths(work, skd, ckd, other)
        search(secrets)
        if strace_works():
            no_leak_check_under_ptrace()
            strace_key_files(work, skd)
            strace_nonce_counter(work, skd, ckd)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("test_harden_logs: %d failure(s)" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
