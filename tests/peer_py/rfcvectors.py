"""Reads Appendix A of rfc/curvecp.md: every hex value with its section and
label, in document order, and the plain 'name value' lines of A.2."""

import re

HEX_GROUP = re.compile(r"^[0-9a-f]+$")


class Vectors:
    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        start = text.index("<!-- BEGIN VECTORS -->")
        end = text.index("<!-- END VECTORS -->")
        self.lines = text[start:end].splitlines()
        self.entries = []           # [section, label, bytearray]
        self.fields = []            # (section, "M fields: ..." line)
        self.counters = {}
        self._parse()

    def _parse(self):
        section = None
        current = None
        in_code = False
        for line in self.lines:
            if line.startswith("### "):
                section = line[4:].split()[0]
                continue
            if line.startswith("```"):
                in_code = not in_code
                current = None
                continue
            if not in_code:
                continue
            m = re.match(r"^(\w[\w ]*counter)\s+(\d+)\s*$", line)
            if m:
                self.counters[m.group(1).strip()] = int(m.group(2))
                continue
            if line.startswith("M fields:"):
                self.fields.append((section, line))
                continue
            tokens = line.split()
            if line.rstrip().endswith(":"):
                current = [section, line.strip()[:-1], bytearray()]
                self.entries.append(current)
                continue
            if not tokens or current is None:
                continue
            if len(tokens) > 1 and tokens[0].isdigit() and len(tokens[0]) < 8:
                if int(tokens[0]) != len(current[2]):
                    raise ValueError("offset mismatch in %r" % line)
                tokens = tokens[1:]
            if all(HEX_GROUP.match(t) and len(t) % 2 == 0 for t in tokens):
                current[2] += bytes.fromhex("".join(tokens))

    def get(self, section, label_start, occurrence=0):
        """Bytes of the occurrence-th entry of section whose label starts
        with label_start; the declared '(N bytes)' length is checked."""
        found = [e for e in self.entries
                 if e[0] == section and e[1].startswith(label_start)]
        if len(found) <= occurrence:
            raise KeyError("%s %r #%d not in the RFC" % (section, label_start, occurrence))
        sec, label, data = found[occurrence]
        m = re.search(r"\((\d+) bytes\)$", label)
        if m and int(m.group(1)) != len(data):
            raise ValueError("%s %r: %d bytes, label says %s" % (sec, label, len(data), m.group(1)))
        return bytes(data)
