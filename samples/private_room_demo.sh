#!/usr/bin/env bash
# private_room_demo.sh: a private room of five on a network of three linked IRC servers, one of
# whose members lies, and the room's consistency check catching it.
#
#   ./samples/private_room_demo.sh [BUILD_DIR]      (default: build)
#
# It starts three ngircd servers on loopback ports, linked irc1 - irc2 - irc3 (irc2 is the hub),
# and five members of the channel #room spread over them: alice and bob on irc1, carol on irc2,
# dave on irc3 (four `otrchat chat --channel '#room'` in batch mode) and mallory on irc3
# (samples/room_equivocator, a member built on the engine that tells different members
# different things). The members find each other by the marker line, set up an OTR session per
# pair, and mallory says one line: "pay 10 to alice" to alice and bob, "pay 99 to alice" to
# carol and dave. Each member alone sees nothing wrong. Then every honest member says a line of
# its own, whose group record carries its hash chain over mallory's line; each member compares
# the others' chains with its own, and each half of the room reports the other half ("saw a
# different room"). A plain IRC client in the channel records what IRC shows: only the markers.
#
# Exits 0 when every honest member caught the lie and the plain client saw no text of the room,
# 1 otherwise, 2 when something it needs is missing. Needs ngircd (Debian: ngircd).
set -euo pipefail

build=${1:-build}
otrchat=$build/cli/otrchat
liar=$build/samples/room_equivocator
ngircd=${NGIRCD:-/usr/sbin/ngircd}
for exe in "$otrchat" "$liar" "$ngircd"; do
  if [ ! -x "$exe" ]; then
    echo "private_room_demo.sh: $exe is not an executable (build first; ngircd: apt-get install ngircd)" >&2
    exit 2
  fi
done
otrchat=$(cd "$(dirname "$otrchat")" && pwd)/$(basename "$otrchat")
liar=$(cd "$(dirname "$liar")" && pwd)/$(basename "$liar")

work=$(mktemp -d "${TMPDIR:-/tmp}/otrchat-room-demo.XXXXXX")
cleanup() {
  local pids
  pids=$(jobs -p)
  if [ -n "$pids" ]; then
    kill $pids 2>/dev/null || true
    wait 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

if [ -t 1 ]; then
  say() { printf '\n\033[1m%s\033[0m\n' "$*"; }
else
  say() { printf '\n%s\n' "$*"; }
fi

# port_free PORT: nothing listens on 127.0.0.1:PORT.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# wait_for TIMEOUT DESCRIPTION COMMAND...: run COMMAND every 0.1 s until it succeeds.
wait_for() {
  local limit=$(($1 * 10)) what=$2
  shift 2
  for ((i = 0; i < limit; i++)); do
    if "$@"; then return 0; fi
    sleep 0.1
  done
  echo "private_room_demo.sh: timed out waiting for $what" >&2
  return 1
}

# Three free ports, from a random start.
ports=()
p=$((20000 + RANDOM % 20000))
while [ ${#ports[@]} -lt 3 ]; do
  if port_free $p; then ports+=($p); fi
  p=$((p + 1))
done

# server_conf N PORT [LINKED_N ...]: ngircd.conf for ircN.otrchat.test. irc2 waits for links
# (Passive); irc1 and irc3 connect to it, retrying every 5 s (ngircd's minimum).
server_conf() {
  local n=$1 port=$2
  shift 2
  cat <<CONF
[Global]
  Name = irc$n.otrchat.test
  Info = otrchat room demo server $n
  AdminInfo1 = otrchat private room demo
  AdminInfo2 = loopback only
  AdminEMail = nobody@localhost
  Listen = 127.0.0.1
  Ports = $port
  MotdPhrase = otrchat room demo $n
  PidFile =
[Limits]
  MaxConnections = 0
  MaxConnectionsIP = 0
  ConnectRetry = 5
[Options]
  PAM = no
  DNS = no
  Ident = no
  RequireAuthPing = no
  MaxPenaltyTime = 0
CONF
  for peer in "$@"; do
    local passive=yes
    [ "$n" != 2 ] && passive=no
    cat <<CONF
[Server]
  Name = irc$peer.otrchat.test
  Host = 127.0.0.1
  Port = ${ports[$((peer - 1))]}
  MyPassword = demo-link-$n-$peer
  PeerPassword = demo-link-$peer-$n
  Passive = $passive
CONF
  done
}

say "1. Three IRC servers on loopback, linked irc1 - irc2 - irc3 (ports ${ports[*]})."
server_conf 1 "${ports[0]}" 2 > irc1.conf
server_conf 2 "${ports[1]}" 1 3 > irc2.conf
server_conf 3 "${ports[2]}" 2 > irc3.conf
for n in 1 2 3; do
  "$ngircd" --configtest -f "$work/irc$n.conf" > /dev/null
  "$ngircd" --nodaemon -f "$work/irc$n.conf" > "irc$n.log" 2>&1 &
done
for n in 1 2 3; do
  wait_for 10 "irc$n to listen" eval "! port_free ${ports[$((n - 1))]}"
done
linked() { [ "$(grep -c 'Server "irc[13].otrchat.test" registered' irc2.log)" -ge 2 ]; }
wait_for 30 "the server links" linked
grep -h 'Server .* registered (connection' irc2.log | sed 's/^\[[^]]*\] /   /'

say "2. Five members join #room: alice and bob on irc1, carol on irc2, dave on irc3, and mallory
   (room_equivocator, who will lie) on irc3; a plain IRC client (eve) watches on irc2."
# eve: a plain client that records what IRC shows in the channel.
(
  exec 3<>"/dev/tcp/127.0.0.1/${ports[1]}"
  printf 'NICK eve\r\nUSER eve 0 * :plain IRC user\r\nJOIN #room\r\n' >&3
  while IFS= read -r -t 60 line <&3; do
    printf '%s\n' "$line" >> eve.log
    case $line in PING*) printf 'PONG %s\r\n' "${line#PING }" >&3 ;; esac
  done
) &
honest=(alice bob carol dave)
server_of=([0]=0 [1]=0 [2]=1 [3]=2)
for i in "${!honest[@]}"; do
  who=${honest[$i]}
  mkdir "$who"
  "$otrchat" --dir "$who" keygen --account "$who" --protocol irc > /dev/null 2>&1
  {
    echo "/wait room 4"           # the four others are private with us
    echo "/wait seen to alice"    # mallory's line
    echo "$who here, I have read mallory's line"
    for other in "${honest[@]}"; do
      [ "$other" = "$who" ] || echo "/wait seen $other here"
    done
    echo "/otr room"
  } > "$who/script.txt"
done
mkdir mallory
member_pids=()
for i in "${!honest[@]}"; do
  who=${honest[$i]}
  "$otrchat" --dir "$who" chat --account "$who" --protocol irc \
    --irc "127.0.0.1:${ports[${server_of[$i]}]}" --nick "$who" --channel '#room' \
    --input "$who/script.txt" --timeout 60 > "$who/room.txt" 2> "$who/notices.txt" &
  member_pids+=($!)
done
"$liar" --server "127.0.0.1:${ports[2]}" --nick mallory --channel '#room' \
  --members alice,bob,carol,dave --split-after 2 --dir mallory --protocol irc \
  --linger 20 > mallory/told.txt 2> mallory/progress.txt &
liar_pid=$!

say "3. Once every pair is private, mallory says one line, but not the same one to everyone:"
status=0
wait_for 60 "mallory's line" grep -q told mallory/told.txt || status=1
sed 's/^/   mallory -> /' mallory/told.txt

say "4. Everyone else says a line; its group record carries the sender's hash chain over what
   mallory said to it. What each member shows (room lines, then the warnings):"
for pid in "${member_pids[@]}"; do
  wait "$pid" || true  # each exits once its script is done (or a /wait timed out)
done
for who in "${honest[@]}"; do
  printf '\n   %s:\n' "$who"
  grep -a '#room' "$who/room.txt" | sed 's/^/     /' || true
  grep -a -i 'different room' "$who/notices.txt" | sed 's/^/     WARNING: /' || true
  # alice and bob were told one thing, carol and dave the other: each must name both members
  # of the other half.
  case $who in alice | bob) others=(carol dave) ;; *) others=(alice bob) ;; esac
  for other in "${others[@]}"; do
    if ! grep -a -q "$other saw a different room.*mallory" "$who/notices.txt"; then
      echo "     (no mismatch reported for $other: the check did not fire)"
      status=1
    fi
  done
done

say "5. What IRC showed the plain client eve in #room (PRIVMSGs to the channel):"
kill "$liar_pid" 2>/dev/null || true
grep -a 'PRIVMSG #room' eve.log | sed 's/^/   /' || echo "   (nothing)"
if grep -a -q 'to alice\|have read' eve.log; then
  echo "   eve saw text of the room: that must never happen"
  status=1
fi

if [ $status -eq 0 ]; then
  say "Every honest member caught mallory: each half of the room was told it saw a different
room than the other half. IRC (eve) saw only the marker lines."
else
  say "The demo did not go as expected. What the programs said:"
  for who in "${honest[@]}" mallory; do
    for f in "$who"/*.txt; do
      printf '\n--- %s\n' "$f"
      tail -n 25 "$f"
    done
  done
  for n in 1 2 3; do
    printf '\n--- irc%s.log\n' "$n"
    tail -n 15 "irc$n.log"
  done
fi
exit $status
