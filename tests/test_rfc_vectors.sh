#!/bin/bash
# The test-vector appendix of rfc/curvecp.md (between the marker lines
# "<!-- BEGIN VECTORS -->" and "<!-- END VECTORS -->") must be exactly what
# tests/gen_rfc_vectors prints from the code, so the document cannot drift.
# Usage: test_rfc_vectors.sh <build dir> <source dir> [--update]
#   --update rewrites the section in place (after an intended change).
set -u
build=${1:?build directory}
src=${2:?source directory}
mode=${3:-check}
doc="$src/rfc/curvecp.md"
gen="$build/tests/gen_rfc_vectors"
regenerate="bash tests/test_rfc_vectors.sh $build $src --update"

fail () {
    echo "test_rfc_vectors: $*" >&2
    exit 1
}

[ -x "$gen" ] || fail "$gen is missing: build the project first"
[ -f "$doc" ] || fail "$doc is missing"

begin=$(grep -c '^<!-- BEGIN VECTORS -->$' "$doc")
end=$(grep -c '^<!-- END VECTORS -->$' "$doc")
[ "$begin" = 1 ] && [ "$end" = 1 ] \
    || fail "$doc must hold each marker line exactly once (found BEGIN $begin, END $end)"
begin_line=$(grep -n '^<!-- BEGIN VECTORS -->$' "$doc" | cut -d: -f1)
end_line=$(grep -n '^<!-- END VECTORS -->$' "$doc" | cut -d: -f1)
[ "$begin_line" -lt "$end_line" ] || fail "BEGIN VECTORS must come before END VECTORS"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$gen" > "$work/vectors.md" || fail "$gen failed"
[ -s "$work/vectors.md" ] || fail "$gen printed nothing"
{
    head -n "$begin_line" "$doc"
    cat "$work/vectors.md"
    tail -n "+$end_line" "$doc"
} > "$work/expected.md"

if [ "$mode" = "--update" ]; then
    cp "$work/expected.md" "$doc"
    echo "test_rfc_vectors: rewrote the vector section of $doc"
    exit 0
fi

if ! cmp -s "$work/expected.md" "$doc"; then
    diff -u "$doc" "$work/expected.md" | head -40 >&2
    fail "the vectors in rfc/curvecp.md differ from what the code produces.
If the change in the code is intended, regenerate the section with:
    $regenerate
and review the diff before committing."
fi
lines=$(wc -l < "$work/vectors.md")
echo "test_rfc_vectors: rfc/curvecp.md vector section matches the code ($lines lines)"
