#!/usr/bin/env python3
"""Rebuild every packet of tests/vectors/packets.txt from its inputs with
PyNaCl, independently of our C code, straight from the packet layouts.
If our encoders and this reading of the specification disagree on one
byte, this test fails."""
import struct
import sys
from pathlib import Path

from nacl.bindings import (crypto_box_afternm, crypto_box_beforenm,
                           crypto_scalarmult_base, crypto_secretbox)

src = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(__file__).resolve().parent.parent
fields = {}
for line in (src / "tests/vectors/packets.txt").read_text().splitlines():
    if line.startswith("#"):
        continue
    name, value = line.split(" ", 1)
    numeric = name.endswith("_nonce")      # the 8-byte counters are decimal
    fields[name] = int(value) if numeric else bytes.fromhex(value)

f = fields
u64 = lambda v: struct.pack("<Q", v)

# Public keys are the base-point multiples of the secrets.
for who in ("server_long", "client_long", "client_short", "server_short"):
    assert crypto_scalarmult_base(f[who + "_secret"]) == f[who + "_public"], who

S, C, Cs, Ss = (f[k] for k in ("server_long_public", "client_long_public",
                               "client_short_public", "server_short_public"))
sext, cext = f["server_extension"], f["client_extension"]
hello_key = crypto_box_beforenm(S, f["client_short_secret"])
vouch_key = crypto_box_beforenm(S, f["client_long_secret"])
session_key = crypto_box_beforenm(Ss, f["client_short_secret"])

hello = (b"QvnQ5XlH" + sext + cext + Cs + bytes(64) + u64(f["hello_nonce"]) +
         crypto_box_afternm(bytes(64), b"CurveCP-client-H" + u64(f["hello_nonce"]), hello_key))

n16 = f["cookie_nonce16"]
k = n16 + crypto_secretbox(Cs + f["server_short_secret"], b"minute-k" + n16, f["minute_key"])
cookie = (b"RL3aNMXK" + cext + sext + n16 +
          crypto_box_afternm(Ss + k, b"CurveCPK" + n16, hello_key))

v16 = f["vouch_nonce16"]
vouch = crypto_box_afternm(Cs, b"CurveCPV" + v16, vouch_key)
inner = C + v16 + vouch + f["server_name_field"] + f["initiate_message"]
initiate = (b"QvnQ5XlI" + sext + cext + Cs + k + u64(f["initiate_nonce"]) +
            crypto_box_afternm(inner, b"CurveCP-client-I" + u64(f["initiate_nonce"]), session_key))

sn = f["server_message_nonce"]
server_msg = (b"RL3aNMXM" + cext + sext + u64(sn) +
              crypto_box_afternm(f["server_message_message"], b"CurveCP-server-M" + u64(sn), session_key))
cn = f["client_message_nonce"]
client_msg = (b"QvnQ5XlM" + sext + cext + Cs + u64(cn) +
              crypto_box_afternm(f["client_message_message"], b"CurveCP-client-M" + u64(cn), session_key))

name = f["server_name_field"]
assert name[:18] == b"\x04test\x07example\x03com\x00" and name[18:] == bytes(238)

failed = 0
for label, mine in (("hello_packet", hello), ("cookie_packet", cookie), ("vouch", vouch),
                    ("initiate_packet", initiate), ("server_message_packet", server_msg),
                    ("client_message_packet", client_msg)):
    ok = f[label] == mine
    failed += not ok
    print(f"{label}: {len(mine)} bytes {'match' if ok else 'DIFFER'}")
assert len(hello) == 224 and len(cookie) == 200 and len(initiate) == 544 + 192
sys.exit(1 if failed else 0)
