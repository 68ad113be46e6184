# Delivers one Claude Code hook event (the JSON on stdin) to this session's SMS notifier, the plugin's
# MCP server, over its Unix socket with curl. POSIX sh; run by hooks/hooks.json as
#   [ -f "$CLAUDE_PLUGIN_DATA/run/${CLAUDE_PID:-$PPID}.json" ] || exit 0; exec sh ".../deliver.sh" SECONDS
# once that one test found this Claude's MCP server running (mcp/run-file.ts writes the run file).
#
# Claude Code runs it on every registered event, so it must never slow or break a session: it exits 0
# whatever happens (another code would surface as a hook error), prints nothing on stdout unless the
# notifier answers with a decision for this hook (200 with a body starting {"hookSpecificOutput"), and
# gives up after SECONDS (1 for the notification events: SessionEnd hooks share a 1.5 s budget; a
# PermissionRequest hook that waits for the phone is given its own).

max_time=${1:-1}

# Prints the notifier's answer only when it is a decision for this hook.
print_decision() {
  case $1 in
    '{"hookSpecificOutput"'*) printf '%s' "$1" ;;
  esac
}
run="$CLAUDE_PLUGIN_DATA/run/${CLAUDE_PID:-$PPID}"

# The MCP server ignores the events of a session nobody monitors unless a saved session could be
# resumed by them: with no session file at all, nothing is read or sent.
for session in "${XDG_CONFIG_HOME:-$HOME/.config}"/claude-sms-notifier/sessions/*.json; do
  [ -e "$session" ] && break
done
[ -e "$session" ] || exit 0

if ! command -v curl >/dev/null 2>&1; then
  exec node "$CLAUDE_PLUGIN_ROOT/hooks/forward.js" "$max_time"
fi

# A hook given more than 1 s (the PermissionRequest hook, which may wait hours for the phone) waits for
# its answer in this shell alone, blocked in `read` on a FIFO, rather than holding curl and its
# libraries (about 10 MB) that long: it makes <run>.wait.<its pid> (0600, in the 0700 run directory),
# holds it open for reading and writing (so that neither open blocks) and names it to the MCP server,
# which opens it for writing and answers 202 at once. Once curl has exited the shell closes its own
# writer: the MCP server's is then the only one, so its answer (one line) or its closing without one,
# or its death, ends the `read`. The MCP server keeps the time limit and removes the FIFO.
pipe=
if [ "$max_time" -gt 1 ] 2>/dev/null && command -v mkfifo >/dev/null 2>&1; then
  pipe="$run.wait.$$"
  if mkfifo -m 600 "$pipe" 2>/dev/null && command exec 3<>"$pipe" 4<"$pipe"; then
    :
  else
    rm -f "$pipe"
    pipe=
  fi
fi

# --disable (first) ignores the person's ~/.curlrc, whose options could change what is printed;
# run.curl (0600, in the 0700 run directory) names the socket and carries the bearer token, which so
# never appears in a process list. --upload-file - streams stdin within --max-time (a stdin that never
# closes is given up on too); "Expect:" keeps curl from waiting for a 100 Continue.
set -- --disable --config "$run.curl" --noproxy '*' --silent --max-time "$max_time" --request POST --upload-file - --header 'Expect:' --write-out '%{http_code}'
[ -n "$pipe" ] && set -- "$@" --header "X-Answer-Pipe: ${pipe##*/}" --header "X-Answer-Within: $max_time"
answer=$(curl "$@" 2>/dev/null 3>&- 4<&-)
status=$?
code=${answer#"${answer%???}"}
body=${answer%???}

if [ -n "$pipe" ]; then
  exec 3>&-
  if [ "$status" -eq 0 ] && [ "$code" = 202 ]; then
    IFS= read -r body <&4
    exec 4<&-
    print_decision "$body"
    # Left only when the MCP server died while this hook waited.
    [ -p "$pipe" ] && rm -f "$pipe"
    exit 0
  fi
  # Not taken (no MCP server to answer, or one that answers over HTTP): the answer, if any, is below.
  exec 4<&-
  rm -f "$pipe"
fi

if [ "$status" -eq 0 ] && [ "$code" = 200 ]; then
  print_decision "$body"
elif [ "$status" -ne 0 ] || [ "$code" != 204 ]; then
  # Claude Code shows hook stderr only in its debug output: a clue for whoever looks.
  echo "sms-notifier: event not delivered (curl exit $status, HTTP ${code:-none})" >&2
fi
exit 0
