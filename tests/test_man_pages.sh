#!/bin/bash
# test_man_pages.sh BUILD SRC - every installed tool has a man page under
# share/man/man1 that documents every option its usage prints, and every
# page renders without a warning.
#
# The options come from the built tools at test time, never from a list
# here: each tool is run with -h and with no arguments, and every token
# like -x or --long in its usage text is an option. The page documents it
# when it is the tag of a .TP (or .IP) entry in its OPTIONS section. So a
# tool that gains an option fails this test, naming the page and the
# option, until its page says what the option does.
set -u
build=$(cd "$1" && pwd)
src=$(cd "${2:-$(dirname "$0")/..}" && pwd)
work=$(mktemp -d /tmp/curvecp-man.XXXXXX)
trap 'rm -rf "$work"' EXIT
fails=0
problem () { echo "test_man_pages: $*" >&2; fails=$((fails + 1)); }
fatal () { echo "test_man_pages: $*" >&2; exit 1; }

command -v groff >/dev/null || fatal "groff is missing: run scripts/install-deps.sh (groff-base)"
command -v man >/dev/null || fatal "man is missing: run scripts/install-deps.sh (man-db)"
export LC_ALL=C.UTF-8 MANWIDTH=80
# A sanitizer build: a leak report at exit is not part of the usage.
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"

cmake --install "$build" --prefix "$work/prefix" >/dev/null || fatal "cmake --install failed"
prefix=$work/prefix
mandir=$prefix/share/man/man1
libdir=$(ls -d "$prefix"/lib*/ 2>/dev/null | head -1)

# usage_options TEXT-FILE: the option tokens of a usage text, one a line.
# An option starts a word (after a blank, "[", "(", "|" or ","): -x, --long.
# A reference to another tool's option, "(curvecp-makekey -z ...", is not one.
usage_options () {
    sed -E 's/\(curvecp-[a-z-]+ -[A-Za-z]+/(/g' "$1" | grep -oE '(^|[][:space:][(|,])--?[A-Za-z0-9][A-Za-z0-9-]*' \
        | sed -E 's/^[^-]*//; s/-+$//' | grep -E '^--?[A-Za-z0-9]' | sort -u
}

# page_tags PAGE: the tags of the OPTIONS section (the line after each .TP,
# the argument of each .IP), without font escapes, one a line.
page_tags () {
    awk '/^\.SH/ { in_options = ($0 ~ /^\.SH +"?OPTIONS"?$/); tag = 0; next }
         !in_options { next }
         tag { print; tag = 0; next }
         /^\.TP/ { tag = 1; next }
         /^\.IP / { sub(/^\.IP +/, ""); print }' "$1" \
        | sed -E 's/\\-/-/g; s/\\f(\(..|\[[^]]*\]|.)//g; s/\\[&%]//g; s/"//g'
}

# missing_options USAGE-FILE PAGE: the options of the usage the page lacks.
missing_options () {
    local tags option
    tags=$(page_tags "$2")
    for option in $(usage_options "$1"); do
        printf '%s\n' "$tags" | grep -qE -- "(^|[^A-Za-z0-9-])${option}([^A-Za-z0-9-]|\$)" \
            || printf '%s\n' "$option"
    done
}

# tool_usage TOOL OUT: the usage text TOOL prints with -h and with no
# arguments. Each run gets an empty directory (a tool that takes -h for a
# file name must not find or make one) and no input. From an error run,
# only the text from the first line that says "usage" on (getopt's
# complaint about -h comes before it); a -h that succeeds prints the usage
# on standard output, all of it.
tool_usage () {
    local tool=$1 out=$2 run status
    : > "$out"
    for run in help bare; do
        mkdir "$work/run-$run"
        if [ $run = help ]; then
            (cd "$work/run-$run" && LD_LIBRARY_PATH=$libdir timeout -k 10 10 "$tool" -h \
                </dev/null >"$work/stdout" 2>"$work/stderr")
        else
            (cd "$work/run-$run" && LD_LIBRARY_PATH=$libdir timeout -k 10 10 "$tool" \
                </dev/null >"$work/stdout" 2>"$work/stderr")
        fi
        status=$?
        rm -rf "$work/run-$run"
        if [ $run = help ] && [ $status -eq 0 ] && [ -s "$work/stdout" ]; then
            cat "$work/stdout" >> "$out"
        else
            cat "$work/stdout" "$work/stderr" | sed -n '/[Uu][Ss][Aa][Gg][Ee]/,$p' >> "$out"
        fi
    done
    [ -s "$out" ]
}

# --- the checker itself finds a missing option ---------------------------------
cat > "$work/fake-usage" <<'EOF'
usage: fake [-q] [--no-such-option] [-Z n] file
  -Z n   not in any page (e.g. fake -q)
EOF
cat > "$work/fake.1" <<'EOF'
.SH OPTIONS
.TP
.B \-q
quiet; not \-Z
.SH EXIT STATUS
.TP
.BI \-Z " n"
EOF
found=$(missing_options "$work/fake-usage" "$work/fake.1" | tr '\n' ' ')
[ "$found" = "--no-such-option -Z " ] \
    || fatal "the checker is broken: expected '--no-such-option -Z' missing, got '$found'"

# --- every installed tool has a page, every page a tool -----------------------
tools=$(ls "$prefix/bin" 2>/dev/null)
if [ -z "$tools" ]; then
    grep -q '^CURVECP_TOOLS:BOOL=OFF' "$build/CMakeCache.txt" || fatal "no tools installed"
    [ ! -d "$mandir" ] || fatal "man pages installed without the tools (CURVECP_TOOLS=OFF)"
    echo "man pages: tools not built (CURVECP_TOOLS=OFF), no page installed"
    exit 0
fi
for page in "$src"/man/*.1; do
    name=$(basename "$page" .1)
    [ -x "$prefix/bin/$name" ] || problem "man/$name.1: no tool $name is installed"
    [ -f "$mandir/$name.1" ] || problem "man/$name.1 is not installed in share/man/man1"
done

checked=0
for name in $tools; do
    page=$mandir/$name.1
    if [ ! -f "$page" ]; then
        problem "$name: no man page (add man/$name.1)"
        continue
    fi
    # The sections a page has, and its NAME line.
    for section in NAME SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS" EXAMPLES "SEE ALSO"; do
        grep -qE "^\.SH +\"?$section\"?\$" "$page" || problem "$name.1: no $section section"
    done
    grep -A1 -E '^\.SH +"?NAME"?$' "$page" | grep -qE "^$name \\\\- " \
        || problem "$name.1: the NAME section does not start with \"$name \\- ...\""
    # Rendering: no warning from groff (all of them) or man.
    if ! groff -man -ww -z "$page" 2>"$work/warn" || [ -s "$work/warn" ]; then
        problem "$name.1: groff -man -ww warns: $(head -3 "$work/warn")"
    fi
    if ! man --warnings -l "$page" >/dev/null 2>"$work/warn" || [ -s "$work/warn" ]; then
        problem "$name.1: man --warnings warns: $(head -3 "$work/warn")"
    fi
    # Every option of the usage.
    if ! tool_usage "$prefix/bin/$name" "$work/usage"; then
        problem "$name: prints no usage with -h or without arguments"
        continue
    fi
    options=$(usage_options "$work/usage" | tr '\n' ' ')
    for option in $(missing_options "$work/usage" "$page"); do
        problem "$name.1: does not document $option (its usage prints it; add a .TP entry to OPTIONS)"
    done
    echo "$name: usage options: ${options:-none}"
    checked=$((checked + 1))
done

[ $fails -eq 0 ] || fatal "$fails problem(s) in the man pages"
echo "man pages: $checked tools, every usage option documented, no rendering warning"
