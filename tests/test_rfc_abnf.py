#!/usr/bin/env python3
"""The ABNF grammar in rfc/curvecp.md must agree with the code's wire
constants: the grammar's smallest and largest length of each packet (and of
K, the vouch, the message header, the server name) must equal the sizes in
include/curvecp_constants.h and src/core/curvecp_message.h, and each magic
must spell the bytes the code uses (src/core/curvecp_reason.c). The
second grammar, the ØMQ application framing of section 12.5, must agree
with src/zmq/curvecp_appframe.h (greeting length, version, frame header
sizes, flag values) and with the greeting magic of src/zmq/curvecp_appframe.c.
The extensions of section 8.8 (window tag, large-block form, large Message
packets) must agree with src/core/curvecp_message.h and curvecp_constants.h
and with the tag bytes of src/core/curvecp_message.c. The grammar of the
secured publish-subscribe (section 17, the block that defines ps-batch)
must agree with src/zmq/curvecp_pubsub_wire.h (header, nonce, signature,
key and topic sizes, the smallest batch, the KEYS body, the version and
the command names). The key service's grammar (section 18, ks-set) must
agree with include/curvecp_keyset.h and src/zmq/curvecp_keyset.c (entry,
update and set sizes, magics) and with the message names of
src/zmq/curvecp_keyd_proto.h.

The grammar is RFC 5234 over octets; this reads the subset it uses
(concatenation, alternation, groups, repetition, nOCTET, %x values and
ranges, rule names) and computes each rule's length bounds."""
import math
import re
import sys
from pathlib import Path

src = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(__file__).resolve().parent.parent
INF = math.inf


def grammar_text():
    doc = (src / "rfc/curvecp.md").read_text()
    blocks = re.findall(r"```abnf\n(.*?)```", doc, re.S)
    if len(blocks) < 3:
        sys.exit(f"rfc/curvecp.md must hold the ```abnf blocks of packets, ØMQ framing and "
                 f"publish-subscribe, found {len(blocks)}")
    return blocks


def parse_rules(text):
    rules, current = {}, None
    for raw in text.splitlines():
        line = re.sub(r";.*", "", raw).rstrip()
        if not line.strip():
            continue
        m = re.match(r"^([A-Za-z][A-Za-z0-9-]*)\s*=\s*(.*)$", line)
        if m:
            current = m.group(1).lower()
            if current in rules:
                sys.exit(f"ABNF rule {current} defined twice")
            rules[current] = m.group(2)
        elif raw[:1].isspace() and current:
            rules[current] += " " + line.strip()
        else:
            sys.exit(f"ABNF: cannot read line {raw!r}")
    return rules


TOKEN = re.compile(r"\s*(\d*\*\d*|\d+|%x[0-9A-Fa-f]+(?:-[0-9A-Fa-f]+|(?:\.[0-9A-Fa-f]+)*)"
                   r"|[A-Za-z][A-Za-z0-9-]*|[()/\[\]])")


def tokenize(body):
    tokens, at = [], 0
    body = body.strip()
    while at < len(body):
        m = TOKEN.match(body, at)
        if not m:
            sys.exit(f"ABNF: cannot read {body[at:]!r}")
        tokens.append(m.group(1))
        at = m.end()
        while at < len(body) and body[at].isspace():
            at += 1
    return tokens


class Grammar:
    def __init__(self, rules):
        self.rules = rules
        self.cache = {}
        self.active = set()

    def bounds(self, name):
        name = name.lower()
        if name == "octet":
            return (1, 1)
        if name in self.cache:
            return self.cache[name]
        if name not in self.rules:
            sys.exit(f"ABNF: rule {name} is used but not defined")
        if name in self.active:
            sys.exit(f"ABNF: rule {name} is recursive")
        self.active.add(name)
        tokens = tokenize(self.rules[name])
        value, rest = self.alternation(tokens)
        if rest:
            sys.exit(f"ABNF: trailing {rest} in rule {name}")
        self.active.discard(name)
        self.cache[name] = value
        return value

    def alternation(self, tokens):
        (low, high), tokens = self.concatenation(tokens)
        while tokens and tokens[0] == "/":
            (l2, h2), tokens = self.concatenation(tokens[1:])
            low, high = min(low, l2), max(high, h2)
        return (low, high), tokens

    def concatenation(self, tokens):
        low = high = 0
        while tokens and tokens[0] not in ("/", ")", "]"):
            (l2, h2), tokens = self.repetition(tokens)
            low, high = low + l2, high + h2
        return (low, high), tokens

    def repetition(self, tokens):
        tok = tokens[0]
        rmin = rmax = 1
        if re.fullmatch(r"\d*\*\d*", tok):
            a, b = tok.split("*")
            rmin, rmax = int(a or 0), int(b) if b else INF
            tokens = tokens[1:]
        elif re.fullmatch(r"\d+", tok):
            rmin = rmax = int(tok)
            tokens = tokens[1:]
        (low, high), tokens = self.element(tokens)
        return (low * rmin, high * rmax if high else 0), tokens

    def element(self, tokens):
        tok, rest = tokens[0], tokens[1:]
        if tok in ("(", "["):
            value, rest = self.alternation(rest)
            if not rest or rest[0] != {"(": ")", "[": "]"}[tok]:
                sys.exit("ABNF: unbalanced group")
            if tok == "[":
                value = (0, value[1])
            return value, rest[1:]
        if tok.startswith("%x"):
            body = tok[2:]
            n = 1 if "-" in body else len(body.split("."))
            return (n, n), rest
        return self.bounds(tok), rest


def constants():
    values = {}
    for header in ("include/curvecp_constants.h", "src/core/curvecp_message.h",
                   "src/zmq/curvecp_appframe.h"):
        for m in re.finditer(r"#define\s+(CURVECP_\w+)\s+\(?(0x[0-9a-fA-F]+|\d+)", (src / header).read_text()):
            values[m.group(1)] = int(m.group(2), 0)
    return values


def pubsub_constants():
    text = (src / "src/zmq/curvecp_pubsub_wire.h").read_text()
    values = {m.group(1): int(m.group(2), 0)
              for m in re.finditer(r"#define\s+(PS_\w+)\s+\(?(0x[0-9a-fA-F]+|\d+)\)?\s", text)}
    values.update({m.group(1): m.group(2).encode()
                   for m in re.finditer(r'#define\s+(PS_CMD_\w+)\s+"([^"]*)"', text)})
    return values


def keyset_constants():
    """The key service's sizes (include/curvecp_keyset.h), magics
    (src/zmq/curvecp_keyset.c) and message names (src/zmq/curvecp_keyd_proto.h)."""
    header = (src / "include/curvecp_keyset.h").read_text()
    values = {m.group(1): int(m.group(2), 0)
              for m in re.finditer(r"#define\s+(CURVECP_KEYSET_\w+)\s+(0x[0-9a-fA-F]+|\d+)", header)}
    body = (src / "src/zmq/curvecp_keyset.c").read_text()
    values.update({m.group(1): m.group(2).encode()
                   for m in re.finditer(r'#define\s+(SET_MAGIC|UPDATE_MAGIC)\s+"([^"]*)"', body)})
    proto = (src / "src/zmq/curvecp_keyd_proto.h").read_text()
    values.update({m.group(1): m.group(2).encode()
                   for m in re.finditer(r'#define\s+(KEYD_[A-Z]+)\s+"([^"]*)"', proto)})
    return values


def magics():
    text = (src / "src/core/curvecp_reason.c").read_text()
    found = {}
    for m in re.finditer(r"curvecp_magic_(\w+)\[8\]\s*=\s*\{([^}]*)\}", text):
        found[m.group(1)] = "".join(re.findall(r"'(.)'", m.group(2)))
    return found


def window_tag():
    text = (src / "src/core/curvecp_message.c").read_text()
    m = re.search(r"window_tag\[4\]\s*=\s*\{([^}]*)\}", text)
    return "".join(re.findall(r"'(.)'", m.group(1))) if m else None


def appframe_magic():
    text = (src / "src/zmq/curvecp_appframe.c").read_text()
    m = re.search(r"greeting_magic\[4\]\s*=\s*\{([^}]*)\}", text)
    return "".join(re.findall(r"'(.)'", m.group(1))) if m else None


def spelled_value(rules, rule):
    """The octets of a rule that is one %x value (dotted), else None."""
    body = tokenize(rules[rule])
    if len(body) != 1 or not body[0].lower().startswith("%x") or "-" in body[0]:
        return None
    return bytes(int(h, 16) for h in body[0][2:].split("."))


def main():
    blocks = grammar_text()
    rules = parse_rules(blocks[0])
    for text in blocks[1:]:
        more = parse_rules(text)
        clash = sorted(set(rules) & set(more))
        if clash:
            sys.exit(f"rules defined in two grammars: {clash}")
        rules.update(more)
    if "ps-batch" not in rules:
        sys.exit("rfc/curvecp.md: no grammar defines ps-batch (section 17)")
    g = Grammar(rules)
    k = constants()
    failures = 0

    def expect(rule, low, high):
        nonlocal failures
        got = g.bounds(rule)
        ok = got == (low, high)
        failures += not ok
        print(f"{rule}: grammar {got[0]}..{got[1]}, code {low}..{high} {'ok' if ok else 'DIFFER'}")

    m_min, m_max, i_max = k["CURVECP_MSG_MIN"], k["CURVECP_MSG_MAX"], k["CURVECP_INITIATE_MSG_MAX"]
    expect("hello", k["CURVECP_HELLO_BYTES"], k["CURVECP_HELLO_BYTES"])
    expect("cookie", k["CURVECP_COOKIE_BYTES"], k["CURVECP_COOKIE_BYTES"])
    expect("cookie-k", k["CURVECP_COOKIE_K_BYTES"], k["CURVECP_COOKIE_K_BYTES"])
    expect("vouch", k["CURVECP_VOUCH_BYTES"], k["CURVECP_VOUCH_BYTES"])
    expect("initiate", k["CURVECP_INITIATE_BASE"] + m_min, k["CURVECP_INITIATE_BASE"] + i_max)
    expect("initiate-plain", k["CURVECP_INITIATE_INNER_BASE"] + m_min, k["CURVECP_INITIATE_INNER_BASE"] + i_max)
    expect("server-message", k["CURVECP_SERVER_MSG_BASE"] + m_min, k["CURVECP_SERVER_PACKET_MAX"])
    expect("client-message", k["CURVECP_CLIENT_MSG_BASE"] + m_min, k["CURVECP_PACKET_MAX"])
    expect("to-server", k["CURVECP_CLIENT_MSG_BASE"] + m_min, k["CURVECP_PACKET_MAX"])
    expect("to-client", k["CURVECP_SERVER_MSG_BASE"] + m_min, k["CURVECP_SERVER_PACKET_MAX"])
    expect("any-message", m_min, m_max)
    expect("initiate-message", m_min, i_max)
    expect("server-name", k["CURVECP_NAME_BYTES"], k["CURVECP_NAME_BYTES"])
    expect("message-header", k["CURVECP_MESSAGE_HEADER"], k["CURVECP_MESSAGE_HEADER"])
    expect("data", 0, k["CURVECP_MESSAGE_DATA_MAX"])
    # padding and data are bounded separately (the total by prose): the
    # grammar must allow the smallest and the largest message.
    low, high = g.bounds("message")
    ok = low == k["CURVECP_MESSAGE_HEADER"] and high >= m_max
    failures += not ok
    print(f"message: grammar {low}..{high}, code {k['CURVECP_MESSAGE_HEADER']}..{m_max} {'ok' if ok else 'DIFFER'}")

    # the extensions of section 8.8: the window tag and the large form
    expect("window-tag", 8, 8)
    expect("window-field", 8, 8)
    expect("large-header", k["CURVECP_MESSAGE_LARGE_HEADER"], k["CURVECP_MESSAGE_LARGE_HEADER"])
    expect("large-data", k["CURVECP_MESSAGE_DATA_MAX"] + 1, k["CURVECP_MESSAGE_LARGE_DATA_MAX"])
    large_max = k["CURVECP_LARGE_MSG_MAX"]
    expect("large-message-box", 16 + m_min, 16 + large_max)
    expect("server-message-large", k["CURVECP_SERVER_MSG_BASE"] + m_min, k["CURVECP_SERVER_MSG_BASE"] + large_max)
    expect("client-message-large", k["CURVECP_CLIENT_MSG_BASE"] + m_min, k["CURVECP_CLIENT_MSG_BASE"] + large_max)
    low, high = g.bounds("large-message")
    want_low = k["CURVECP_MESSAGE_LARGE_HEADER"] + k["CURVECP_MESSAGE_DATA_MAX"] + 1
    ok = low == want_low and high >= large_max
    failures += not ok
    print(f"large-message: grammar {low}..{high}, code {want_low}..{large_max} {'ok' if ok else 'DIFFER'}")
    # the tag sits at CURVECP_MESSAGE_WINDOW_AT in both forms
    head = tokenize(rules["large-header"])
    before = g.concatenation(head[:head.index("window-field")])[0]
    gap_ok = "window-gap window-tag" in " ".join(tokenize(rules["message"]))
    short = g.bounds("message-header")[0] + g.bounds("window-gap")[0] if gap_ok else None
    ok = before == (k["CURVECP_MESSAGE_WINDOW_AT"],) * 2 and short == k["CURVECP_MESSAGE_WINDOW_AT"]
    failures += not ok
    print(f"window tag offset: large form {before[0]}, NaCl form {short}, code "
          f"{k['CURVECP_MESSAGE_WINDOW_AT']} {'ok' if ok else 'DIFFER'}")
    tag = tokenize(rules["window-tag"])[0]
    tag_text = "".join(chr(int(h, 16)) for h in tag[2:].split(".")) if tag.lower().startswith("%x") else None
    ok = tag_text is not None and tag_text == window_tag()
    failures += not ok
    print(f"window-tag: grammar {tag_text!r}, code {window_tag()!r} {'ok' if ok else 'DIFFER'}")

    spelled = magics()
    for rule, name in (("hello-magic", "hello"), ("cookie-magic", "cookie"),
                       ("initiate-magic", "initiate"), ("server-msg-magic", "server_msg"),
                       ("client-msg-magic", "client_msg")):
        body = tokenize(rules[rule])
        text = "".join(chr(int(h, 16)) for h in body[0][2:].split(".")) if len(body) == 1 else None
        ok = text is not None and text == spelled.get(name)
        failures += not ok
        print(f"{rule}: grammar {text!r}, code {spelled.get(name)!r} {'ok' if ok else 'DIFFER'}")

    # the ØMQ application framing (section 12.5)
    expect("greeting", k["CURVECP_APPFRAME_GREETING"], k["CURVECP_APPFRAME_GREETING"])
    expect("frame-header", 2, k["CURVECP_APPFRAME_HEADER_MAX"])
    expect("short-size", 1, 1)
    expect("long-size", 8, 8)
    for rule, want in (("version", bytes([k["CURVECP_APPFRAME_VERSION"]])),
                       ("reserved", bytes(2)),
                       ("zccp-magic", (appframe_magic() or "").encode())):
        got = spelled_value(rules, rule)
        ok = got == want
        failures += not ok
        print(f"{rule}: grammar {got!r}, code {want!r} {'ok' if ok else 'DIFFER'}")
    more, long_ = k["CURVECP_APPFRAME_MORE"], k["CURVECP_APPFRAME_LONG"]
    for rule, want in (("more-flags", {more, more | long_}), ("last-flags", {0, long_})):
        alts = {int(tok[2:], 16) for tok in tokenize(rules[rule]) if tok.lower().startswith("%x")}
        ok = alts == want
        failures += not ok
        print(f"{rule}: grammar {sorted(alts)}, code {sorted(want)} {'ok' if ok else 'DIFFER'}")

    # secured publish-subscribe (section 17)
    p = pubsub_constants()
    expect("ps-header", p["PS_HEADER_BYTES"], p["PS_HEADER_BYTES"])
    expect("ps-nonce", p["PS_NONCE_BYTES"], p["PS_NONCE_BYTES"])
    expect("ps-signature", p["PS_SIG_BYTES"], p["PS_SIG_BYTES"])
    expect("ps-sign-pk", p["PS_SIGN_PK_BYTES"], p["PS_SIGN_PK_BYTES"])
    expect("ps-channel-secret", p["PS_KEY_BYTES"], p["PS_KEY_BYTES"])
    expect("ps-topic-frame", 0, p["PS_TOPIC_MAX"])
    expect("ps-prefix", 0, p["PS_TOPIC_MAX"])
    low = g.bounds("ps-batch")[0]
    # PS_BATCH_MIN (header, tag, signature) and the smallest plaintext: one message of one empty frame
    want = p["PS_HEADER_BYTES"] + p["PS_TAG_BYTES"] + p["PS_SIG_BYTES"] + 5
    ok = low == want and g.bounds("ps-plain")[0] == 5
    failures += not ok
    print(f"ps-batch: grammar from {low}, code from {want} {'ok' if ok else 'DIFFER'}")
    keys_fixed = 1 + p["PS_SIGN_PK_BYTES"] + 8 + 2
    low, high = g.bounds("ps-keys-body")
    entry = g.bounds("ps-channel-key")
    ok = low == keys_fixed and high == keys_fixed + p["PS_KEYS_MAX_CHANNELS"] * entry[1] \
        and entry == (1 + p["PS_KEY_BYTES"], 1 + p["PS_TOPIC_MAX"] + p["PS_KEY_BYTES"])
    failures += not ok
    print(f"ps-keys-body: grammar {low}..{high}, code {keys_fixed} + up to {p['PS_KEYS_MAX_CHANNELS']} "
          f"entries {'ok' if ok else 'DIFFER'}")
    expect("ps-reason", 0, p["PS_DENY_MAX"])
    expect("ps-count", 2, 2)
    for rule, want in (("ps-version", bytes([p["PS_VERSION"]])),
                       ("ps-cmd-join", p["PS_CMD_JOIN"]), ("ps-cmd-keys", p["PS_CMD_KEYS"]),
                       ("ps-cmd-ack", p["PS_CMD_ACK"]), ("ps-cmd-deny", p["PS_CMD_DENY"]),
                       ("ps-cmd-app", p["PS_CMD_APP"])):
        got = spelled_value(rules, rule)
        ok = got == want
        failures += not ok
        print(f"{rule}: grammar {got!r}, code {want!r} {'ok' if ok else 'DIFFER'}")

    # the key service (section 18)
    if "ks-set" not in rules:
        sys.exit("rfc/curvecp.md: no grammar defines ks-set (section 18)")
    ks = keyset_constants()
    sig = ks["CURVECP_KEYSET_SIG_BYTES"]
    entry_min = 32 + 8 + 1 + 1 + 1 + 2
    entry_max = 32 + 8 + 1 + 1 + ks["CURVECP_KEYSET_NAME_MAX"] + 2 + ks["CURVECP_KEYSET_METADATA_MAX"]
    expect("ks-entry", entry_min, entry_max)
    expect("ks-signature", sig, sig)
    expect("ks-set-signature", sig, sig)
    expect("ks-update", 8 + 8 + entry_min + 2 * sig, 8 + 8 + entry_max + 2 * sig)
    expect("ks-set", 8 + 8 + 4 + sig, 8 + 8 + 4 + ks["CURVECP_KEYSET_ENTRIES_MAX"] * entry_max + sig)
    expect("ks-name", 1, ks["CURVECP_KEYSET_NAME_MAX"])
    expect("ks-metadata", 0, ks["CURVECP_KEYSET_METADATA_MAX"])
    for rule, want in (("ks-set-magic", ks["SET_MAGIC"]), ("ks-update-magic", ks["UPDATE_MAGIC"]),
                       ("ks-topic", ks["KEYD_TOPIC"]), ("ks-cmd-subscribe", ks["KEYD_SUBSCRIBE"]),
                       ("ks-cmd-snapshot", ks["KEYD_SNAPSHOT"]), ("ks-cmd-change", ks["KEYD_CHANGE"]),
                       ("ks-cmd-update", ks["KEYD_UPDATE"]), ("ks-cmd-hugz", ks["KEYD_HUGZ"]),
                       ("ks-cmd-ok", ks["KEYD_OK"]), ("ks-cmd-refused", ks["KEYD_REFUSED"])):
        got = spelled_value(rules, rule)
        ok = got == want
        failures += not ok
        print(f"{rule}: grammar {got!r}, code {want!r} {'ok' if ok else 'DIFFER'}")

    for name in sorted(rules):
        g.bounds(name)             # every rule must at least be well-formed
    print(f"{len(rules)} rules read, {failures} differences")
    sys.exit(1 if failures else 0)


main()
