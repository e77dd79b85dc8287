# Stopping only the processes we started (sourced by tests and benches):
# other people may run dsend servers on the same machine, so never by name.

# descendants PID: every process below PID (ours only: found by parent id)
descendants() {
    local c
    for c in $(pgrep -P "$1"); do
        echo "$c"
        descendants "$c"
    done
}

# signal_ranks SIG PID: SIG to the dsend ranks started under PID, not to
# mpirun (which kills a job it is signalled to stop, without letting it
# flush): the processes whose own program is dsend (lt-dsend under libtool)
signal_ranks() {
    local sig=$1 p found=1
    for p in $(descendants "$2"); do
        case "$(ps -o comm= -p "$p" 2>/dev/null)" in
        dsend | lt-dsend) kill "-$sig" "$p" 2>/dev/null && found=0 ;;
        esac
    done
    return $found
}


# rank_pid PID RANK: the process id of MPI rank RANK of the job started
# under PID (Open MPI sets OMPI_COMM_WORLD_RANK in each rank's environment)
rank_pid() {
    local p
    for p in $(descendants "$1"); do
        case "$(ps -o comm= -p "$p" 2>/dev/null)" in
        dsend | lt-dsend)
            if tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$2"; then
                echo "$p"
                return 0
            fi
            ;;
        esac
    done
    return 1
}
