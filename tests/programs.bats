#!/usr/bin/env bats
# What every program promises alike (SPEC section 2): --help, --version,
# bad usage exits 64, a man page that is lint-clean and documents every
# option --help prints, and make install puts programs and pages in place.

load helpers/common
bats_require_minimum_version 1.5.0

programs() {
    local p
    for p in "$PROJECT_DIR"/tools/sp-*.c; do
        p=$(basename "$p" .c)
        echo "$p"
    done
}

@test "every program answers --help on stdout and exits 0" {
    for p in $(programs); do
        run "$SP_BIN/$p" --help
        [ "$status" -eq 0 ] || { echo "$p --help exited $status"; false; }
        [[ $output == *"$p"* ]] || { echo "$p --help does not name itself"; false; }
    done
}

@test "every program prints its name and version with --version" {
    for p in $(programs); do
        run "$SP_BIN/$p" --version
        [ "$status" -eq 0 ]
        [[ $output =~ ^$p\ [0-9]+\.[0-9]+\.[0-9]+ ]] || { echo "$p: '$output'"; false; }
    done
}

# one_line: stdin with its runs of blanks and newlines made single spaces.
one_line() {
    tr -s ' \n' '  ' | sed 's/^ //; s/ $//'
}

# man_synopsis PROGRAM: the SYNOPSIS of its man page, on one line.
man_synopsis() {
    mandoc -Tascii -O width=500 "$PROJECT_DIR/man/$1.1" | col -b |
        sed -n '/^SYNOPSIS/,/^DESCRIPTION/p' | sed '1d;$d' | one_line
}

@test "bad usage: exit 64, a first line that names the program, then the man page's SYNOPSIS" {
    for p in $(programs); do
        run --separate-stderr "$SP_BIN/$p" --no-such-option
        [ "$status" -eq 64 ] || { echo "$p exited $status"; false; }
        [ -z "$output" ] || { echo "$p wrote to stdout: $output"; false; }
        [ "${stderr_lines[0]}" = "$p: unknown option --no-such-option" ] ||
            { echo "$p: ${stderr_lines[0]}"; false; }
        usage=$(printf '%s\n' "${stderr_lines[@]:1}" | sed '1s/^usage: //' | one_line)
        [ "$usage" = "$(man_synopsis "$p")" ] ||
            { printf '%s usage:    %s\n%s synopsis: %s\n' "$p" "$usage" "$p" "$(man_synopsis "$p")"; false; }
        run --separate-stderr "$SP_BIN/$p" -Z
        [ "$status" -eq 64 ] && [ "${stderr_lines[0]}" = "$p: unknown option -Z" ]
        run --separate-stderr "$SP_BIN/$p" --metrics-file
        [ "$status" -eq 64 ] && [ "${stderr_lines[0]}" = "$p: option --metrics-file needs a value" ]
        run --separate-stderr "$SP_BIN/$p" --quiet=yes
        [ "$status" -eq 64 ] && [ "${stderr_lines[0]}" = "$p: option --quiet takes no value" ]
        # --help starts with the same usage
        help=$("$SP_BIN/$p" --help | sed -n '1,/^$/p' | sed '1s/^usage: //' | one_line)
        [ "$help" = "$(man_synopsis "$p")" ] || { echo "$p --help: $help"; false; }
    done
}

@test "every program has a man page that mandoc -Tlint finds clean" {
    for p in $(programs); do
        [ -f "$PROJECT_DIR/man/$p.1" ] || { echo "no man/$p.1"; false; }
    done
    for m in "$PROJECT_DIR"/man/*.[17]; do
        run mandoc -Tlint -W warning "$m"
        [ "$status" -eq 0 ] && [ -z "$output" ] || { echo "$m: $output"; false; }
    done
}

@test "man pages render their quotes and parentheses as written: none nested, none misplaced" {
    for m in "$PROJECT_DIR"/man/*.[17]; do
        page=$(mandoc -Tutf8 "$m" | col -b)
        # a quote opened inside another (mdoc's Sq and Ql run to the end of
        # the line, so a second one on it nests: ‘100ms, ‘5m’’)
        ! grep -n '‘[^’]*‘' <<<"$page" || { echo "$m: nested quotes"; false; }
        # a parenthesis closed before the words it was opened for
        ! grep -n '’) is standard input' <<<"$page" || { echo "$m: misplaced parenthesis"; false; }
    done
}

@test "every long option that --help prints is documented in the man page" {
    for p in $(programs); do
        help=$("$SP_BIN/$p" --help 2>&1)
        page=$(mandoc -Tascii "$PROJECT_DIR/man/$p.1" | col -b)
        for opt in $(grep -o -- '--[a-z][a-z0-9-]*' <<<"$help" | sort -u); do
            grep -q -- "$opt" <<<"$page" || { echo "$p: $opt is not in man/$p.1"; false; }
        done
        # short options where the option list names them: "  -q, --quiet"
        for opt in $(sed -n 's/^ *\(-[a-zA-Z]\)[, ].*/\1/p' <<<"$help" | sort -u); do
            grep -q -- "$opt" <<<"$page" || { echo "$p: $opt is not in man/$p.1"; false; }
        done
    done
}

@test "make install puts every program and man page under PREFIX" {
    dest=$BATS_TEST_TMPDIR/root
    make -C "$PROJECT_DIR" --no-print-directory -s install DESTDIR="$dest" PREFIX=/usr \
        BIN="$SP_BIN" BUILD="$(dirname "$SP_BIN")" >/dev/null
    for p in $(programs); do
        [ -x "$dest/usr/bin/$p" ] || { echo "missing $p"; false; }
        [ -f "$dest/usr/share/man/man1/$p.1" ] || { echo "missing $p.1"; false; }
    done
    [ -f "$dest/usr/share/man/man7/streampulse.7" ]
}
