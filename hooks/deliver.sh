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

# --disable (first) ignores the person's ~/.curlrc, whose options could change what is printed;
# run.curl (0600, in the 0700 run directory) names the socket and carries the bearer token, which so
# never appears in a process list. --upload-file - streams stdin within --max-time (a stdin that never
# closes is given up on too); "Expect:" keeps curl from waiting for a 100 Continue.
answer=$(curl --disable --config "$run.curl" --noproxy '*' --silent --max-time "$max_time" --request POST --upload-file - --header 'Expect:' --write-out '%{http_code}' 2>/dev/null)
status=$?
code=${answer#"${answer%???}"}
body=${answer%???}

if [ "$status" -eq 0 ] && [ "$code" = 200 ]; then
  case $body in
    '{"hookSpecificOutput"'*) printf '%s' "$body" ;;
  esac
elif [ "$status" -ne 0 ] || [ "$code" != 204 ]; then
  # Claude Code shows hook stderr only in its debug output: a clue for whoever looks.
  echo "sms-notifier: event not delivered (curl exit $status, HTTP ${code:-none})" >&2
fi
exit 0
