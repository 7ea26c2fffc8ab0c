#!/usr/bin/env bash
# pipe_demo.sh: Alice and Bob chat privately through a pipe, with otrchat.
#
#   ./samples/pipe_demo.sh build/cli/otrchat
#
# Two otrchat processes are joined by two named pipes (FIFOs) in a temporary directory, one for
# each direction, as if the pipe were an untrusted network. Each side follows a short script
# (batch mode): they go private (OTR's authenticated key exchange), exchange messages, verify
# each other with a shared secret (the Socialist Millionaires' Protocol), and end the private
# conversation. The demo prints what each person saw and what an eavesdropper on the pipe saw,
# and exits 0 only if both sides went private and every message arrived.
set -euo pipefail

otrchat=${1:-build/cli/otrchat}
if [ ! -x "$otrchat" ]; then
  echo "pipe_demo.sh: $otrchat is not an executable; build it first (cmake --build build)" >&2
  exit 2
fi
otrchat=$(cd "$(dirname "$otrchat")" && pwd)/$(basename "$otrchat")

work=$(mktemp -d "${TMPDIR:-/tmp}/otrchat-demo.XXXXXX")
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"
mkdir alice bob

if [ -t 1 ]; then
  say() { printf '\n\033[1m%s\033[0m\n' "$*"; }
else
  say() { printf '\n%s\n' "$*"; }
fi

say "1. Alice and Bob each create a long-term key (throwaway ones, in $work)."
for who in alice bob; do
  "$otrchat" --dir "$who" keygen --account "$who" 2>/dev/null | sed "s/^/   $who: /"
done

# What each person "types". Lines starting with / are commands; /wait lines make the script
# wait for the other side, as a person would.
cat > alice/script.txt <<'EOF'
/otr init
/wait private
Hi Bob! Nobody but you can read this.
/wait text Hi Alice
/otr authq "Where did we first meet?" at the old library
/wait smp
See you tomorrow.
/otr finish
EOF
cat > bob/script.txt <<'EOF'
/wait private
/wait text Hi Bob
Hi Alice! And nobody can prove afterwards that I wrote this.
/wait auth
/otr auth at the old library
/wait smp
/wait text See you
/wait finished
EOF

say "2. They chat over two pipes (alice -> bob and bob -> alice); an eavesdropper copies both."
mkfifo alice-to-bob bob-to-alice
timeout 60 "$otrchat" --dir alice chat --stdio --account alice --peer bob --timeout 20 \
    --input alice/script.txt --json=alice/events.json <bob-to-alice 2>alice/screen.txt |
  tee eavesdropped-alice.txt >alice-to-bob &
timeout 60 "$otrchat" --dir bob chat --stdio --account bob --peer alice --timeout 20 \
    --input bob/script.txt --json=bob/events.json <alice-to-bob 2>bob/screen.txt |
  tee eavesdropped-bob.txt >bob-to-alice &
wait

say "3. What Alice saw (lines with *** are otrchat telling her what happens):"
sed 's/^/   /' alice/screen.txt
say "4. What Bob saw:"
sed 's/^/   /' bob/screen.txt
say "5. What the eavesdropper on the pipe saw (the first lines, cut at 100 characters):"
head -n 4 eavesdropped-alice.txt | cut -c1-100 | sed 's/^/   alice -> bob: /'
head -n 3 eavesdropped-bob.txt | cut -c1-100 | sed 's/^/   bob -> alice: /'
echo "   ... $(cat eavesdropped-alice.txt eavesdropped-bob.txt | wc -l | tr -d ' ') lines in all; apart from Alice's opening request, nothing a reader can use."

# The verdict comes from the JSON event logs (--json), not from the screen text.
ok=1
for who in alice bob; do
  grep -q '"event":"state".*"to":"encrypted"' "$who/events.json" || { echo "$who never went private"; ok=0; }
  grep -q '"event":"exit","status":0' "$who/events.json" || { echo "$who did not finish cleanly"; ok=0; }
done
grep -q '"event":"message".*"text":"Hi Bob! Nobody but you can read this.","encrypted":true' \
  bob/events.json || { echo "Bob did not get Alice's first message"; ok=0; }
grep -q '"event":"message".*"text":"Hi Alice!.*","encrypted":true' alice/events.json ||
  { echo "Alice did not get Bob's answer"; ok=0; }
grep -q '"event":"message".*"text":"See you tomorrow.","encrypted":true' bob/events.json ||
  { echo "Bob did not get Alice's last message"; ok=0; }
grep -q '"kind":"succeeded"' alice/events.json || { echo "the verification did not succeed"; ok=0; }
if grep -q -e 'Hi Bob' -e 'Hi Alice' -e 'old library' eavesdropped-*.txt; then
  echo "plain text went over the pipe!"
  ok=0
fi

if [ "$ok" = 1 ]; then
  say "Both went private, verified each other, and every message arrived encrypted. Demo OK."
  exit 0
fi
say "The demo FAILED (see above)."
exit 1
