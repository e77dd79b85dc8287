#!/bin/bash
# Mutation check: do the tests catch what breaks?
#
#   tests/mutate.sh [--list|--dry-run] [--keep] [ID|GLOB ...]   (or: make mutate)
#
# Applies each deliberate bug of tests/mutations.txt (all, or those whose id
# matches an argument: `tests/mutate.sh 'meter-*' bye-never-sent`) to a
# scratch copy of the source in a temporary directory -- never to this tree
# -- builds it, runs the tests named with the mutation, and prints whether
# they caught it (in the order named, up to the first that fails).  A
# mutation the tests pass is a SURVIVOR: strengthen the tests, never the
# other way round.  Exit 0 when every mutation was caught.
# --dry-run only checks that every mutation still applies to this tree.
#
# The copy is of the working tree as it is (tracked and untracked files that
# git does not ignore), built once (configure, make, the test programs and
# data/sample.h5 from the unmutated code); each mutation is then applied,
# rebuilt incrementally (only the programs its tests run), tested as `make
# check` runs them (a skipped test catches nothing) and reverted.  Tests run
# under DSEND_MPI_TIMEOUT (default 240 s per mpirun) and each test under
# MUTATE_TIMEOUT (default 900 s): a hang counts as caught, and says so.  Two cores are shared with others here: nothing runs
# in parallel but `make -j2`.  --keep leaves the scratch copy (its path is
# printed) to look at a survivor.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(git -C "$here" rev-parse --show-toplevel) || { echo "mutate: not in a git work tree" >&2; exit 2; }
list=$here/mutations.txt
keep= only_list= dry=
pats=()
for a in "$@"; do
    case "$a" in
    --list) only_list=1 ;;
    --keep) keep=1 ;;
    --dry-run) dry=1 ;;
    -h | --help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "mutate: unknown option $a" >&2; exit 2 ;;
    *) pats+=("$a") ;;
    esac
done

# ---- the list: ids, files, tests, hunks -----------------------------------
ids=() files=() tests=() bodies=()
cur=-1
while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in
    "== "*)
        IFS='|' read -r id file tst <<<"${line#== }"
        id=$(echo $id) file=$(echo $file) tst=$(echo $tst)
        [ -n "$id" ] && [ -n "$file" ] && [ -n "$tst" ] || { echo "mutate: bad line: $line" >&2; exit 2; }
        cur=${#ids[@]}
        ids+=("$id") files+=("$file") tests+=("$tst") bodies+=("")
        ;;
    [-+]*)
        [ "$cur" -ge 0 ] || { echo "mutate: a hunk line before any '==': $line" >&2; exit 2; }
        bodies[cur]+="$line"$'\n'
        ;;
    esac
done <"$list"

selected() {
    [ ${#pats[@]} -eq 0 ] && return 0
    local p
    for p in "${pats[@]}"; do
        # shellcheck disable=SC2053 # a glob on purpose
        [[ $1 == $p ]] && return 0
    done
    return 1
}

todo=()
for i in "${!ids[@]}"; do
    selected "${ids[i]}" && todo+=("$i")
done
if [ -n "$only_list" ]; then
    for i in "${todo[@]}"; do printf '%-30s %-28s %s\n' "${ids[i]}" "${files[i]}" "${tests[i]}"; done
    exit 0
fi
[ ${#todo[@]} -gt 0 ] || { echo "mutate: no mutation matches: ${pats[*]}" >&2; exit 2; }

# apply FILE HUNKS: replace each hunk's "-" lines (exactly once in FILE) by its "+" lines
apply() {
    local file=$1 body=$2 from= to= state= line
    flush() {
        [ -n "$from" ] || return 0
        FROM=${from%$'\n'} TO=$to perl -0777 -i -e '
            my $s = do { local $/; <> };
            my $n = () = $s =~ /^\Q$ENV{FROM}\E\n/mg;
            if ($n != 1) { print $s; print STDERR "found $n times\n"; exit 3 }
            $s =~ s/^\Q$ENV{FROM}\E\n/$ENV{TO}/m;
            print $s;' "$file" || return 1
        from= to=
    }
    while IFS= read -r line; do
        case "$line" in
        -*) [ "$state" = + ] && { flush || return 1; }; from+="${line:1}"$'\n' state=- ;;
        +*) to+="${line:1}"$'\n' state=+ ;;
        esac
    done <<<"$body"
    flush
}

if [ -n "$dry" ]; then
    bad=0
    tmpf=$(mktemp)
    for i in "${todo[@]}"; do
        cp "$top/${files[i]}" "$tmpf"
        if apply "$tmpf" "${bodies[i]}" 2>"$tmpf.err"; then
            printf '%-30s applies\n' "${ids[i]}"
        else
            printf '%-30s STALE: %s\n' "${ids[i]}" "$(tail -1 "$tmpf.err")"
            bad=1
        fi
    done
    rm -f "$tmpf" "$tmpf.err"
    exit $bad
fi

# ---- a scratch copy, built once -----------------------------------------
scratch=$(mktemp -d "${TMPDIR:-/tmp}/dsend-mutate.XXXXXX")
cleanup() { [ -n "$keep" ] && echo "mutate: scratch copy kept in $scratch" || rm -rf "$scratch"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
src=$scratch/src
mkdir -p "$src"
(cd "$top" && git ls-files -z --cached --others --exclude-standard | xargs -0 -r sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
    tar --null -T - -cf -) | tar -xf - -C "$src" || { echo "mutate: cannot copy the tree" >&2; exit 2; }
echo "mutate: building a scratch copy in $src"
t0=$(date +%s)
(cd "$src" && autoreconf -fi && ./configure && make -j2 && make -j2 check TESTS=) >"$scratch/build.log" 2>&1 ||
    { tail -30 "$scratch/build.log"; echo "mutate: the unmutated copy does not build" >&2; keep=1; exit 2; }
echo "mutate: built in $(($(date +%s) - t0)) s"

# programs TEST...: what the tests run (all libdsend is linked in statically:
# only these are relinked after a mutation)
programs() {
    local t
    for t in "$@"; do
        case "$t" in
        tests/mpi/*) echo "dsend tests/sim_check tests/mpi_load_check tests/twin_check tests/results_check" ;;
        tests/*.sh) echo "dsend tests/test_library tests/results_edit" ;;
        *) echo "$t" ;;
        esac
    done | tr ' ' '\n' | sort -u | tr '\n' ' '
}

# run TEST LOG: one test as `make check` runs it; its exit status
run() {
    local t=$1
    (
        cd "$src" && . tests/env.sh
        case "$t" in
        tests/mpi/*) exec timeout -k 30 "${MUTATE_TIMEOUT:-900}" bash tests/launch-mpi "$t" ;;
        tests/*.sh) exec timeout -k 30 "${MUTATE_TIMEOUT:-900}" bash "$t" ;;
        *) exec timeout -k 30 "${MUTATE_TIMEOUT:-900}" "./$t" ;;
        esac
    ) >"$2" 2>&1
}

declare -A result secs
survivors=() stale=()
export DSEND_MPI_TIMEOUT=${DSEND_MPI_TIMEOUT:-240}
for i in "${todo[@]}"; do
    id=${ids[i]} file=${files[i]} tst=${tests[i]}
    t0=$(date +%s)
    cp "$src/$file" "$scratch/orig"
    # shellcheck disable=SC2086 # lists
    if ! apply "$src/$file" "${bodies[i]}" 2>"$scratch/apply.err"; then
        result[$id]="STALE ($(tail -1 "$scratch/apply.err"))"
        stale+=("$id")
    elif ! (cd "$src" && make -j2 -o data/sample.h5 $(programs $tst)) >"$scratch/$id.build.log" 2>&1; then
        result[$id]="BUILD FAILED (see the mutation; $scratch/$id.build.log)"
        stale+=("$id")
    else
        caught= hung= skipped=
        for t in $tst; do
            rc=0
            run "$t" "$scratch/$id.$(basename "$t").log" || rc=$?
            case "$rc" in
            0) ;;
            77) skipped+=" $t" ;;
            124 | 137) caught+=" $t" hung=1 ;;
            *) caught+=" $t" ;;
            esac
            [ -n "$caught" ] && break # caught: the rest would tell no more
        done
        if [ -n "$caught" ]; then
            result[$id]="caught by${caught}${hung:+ (a hang, stopped by the time limit)}"
        else
            result[$id]="SURVIVED $tst${skipped:+ (skipped:$skipped)}"
            survivors+=("$id")
        fi
    fi
    cp -p "$scratch/orig" "$src/$file"
    touch "$src/$file"
    secs[$id]=$(($(date +%s) - t0))
    printf '%-30s %5ss  %s\n' "$id" "${secs[$id]}" "${result[$id]}"
done

total=0
for i in "${todo[@]}"; do total=$((total + secs[${ids[i]}])); done
echo "mutate: ${#todo[@]} mutations in ${total} s: $((${#todo[@]} - ${#survivors[@]} - ${#stale[@]})) caught, ${#survivors[@]} survived${survivors[*]:+ (${survivors[*]})}, ${#stale[@]} stale or broken${stale[*]:+ (${stale[*]})}"
[ ${#survivors[@]} -eq 0 ] && [ ${#stale[@]} -eq 0 ]
