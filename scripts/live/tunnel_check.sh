#!/usr/bin/env bash
# End-to-end check of slurm/serve.sbatch + `lumen tunnel` against the REAL Slurm and the REAL
# loopback sshd of scripts/services (the sshd plays the login node; the job runs on this machine,
# so the compute "node" is 127.0.0.1). Needs root (scripts/services), a built .build/debug/lumen
# and .venv-client (scripts/env/setup_client_python).
#
#   LUMEN_SERVICES_DIR=/tmp/lumen-services-tunnel scripts/live/tunnel_check.sh
#   LUMEN_TUNNEL_PERF=1 …   also measures direct vs tunnel on a 512×512×200 volume (scripts/bench/tunnel_perf.py)
#
# Checks: the job's connection file (0600, dir 0700); unknown and changed host keys refused with
# nothing listening; the monailabel client (client_check.py: /info/, upload, segmentation, deepgrow)
# through the tunnel with the token prefix; a killed sshd connection → a request succeeds again
# within 5 s; a second hop (a login node that may forward only to the node's sshd: unknown node key
# refused, then the client through both hops, and back within 5 s after a killed connection);
# the token in no log line of either side; drain: USR1 → new inference 503 → job ends
# and the connection file is gone. Prints `success` last.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
export LUMEN_SERVICES_DIR=${LUMEN_SERVICES_DIR:-/tmp/lumen-services-tunnel}
. "$(scripts/services start all)"
lumen=$root/.build/debug/lumen
py=$root/.venv-client/bin/python
work=$(mktemp -d /tmp/lumen-tunnel-check.XXXXXX)
export LUMEN_HOME=$work/home LUMEN_STORE=$work/store LUMEN_MODELS=$root/mmar LUMEN_FINETUNE=off
fail() { echo "FAILED: $*"; exit 1; }
ok() { echo "ok: $*"; }
job=; tunnel_pid=
cleanup() {
  [ -z "$tunnel_pid" ] || kill "$tunnel_pid" 2>/dev/null || true
  [ ! -s "$work/login2/sshd.pid" ] || kill "$(cat "$work/login2/sshd.pid")" 2>/dev/null || true
  [ -z "$job" ] || scancel "$job" 2>/dev/null || true
}
trap cleanup EXIT
free_port() { local p=$1; while ss -Htln | awk '{print $4}' | grep -qE "[:.]$p\$"; do p=$((p + 1)); done; echo "$p"; }

echo "== phantom"
"$lumen" phantom --output "$work/img" --size small --count 1 >/dev/null
image=$(ls "$work"/img/*image*.nii.gz 2>/dev/null | head -n1 || true)
[ -n "$image" ] || image=$(ls "$work"/img/*.nii.gz | head -n1)

echo "== submit slurm/serve.sbatch"
out=$("$lumen" cluster serve --slurm-env "$LUMEN_SERVICES_DIR/env.sh" --time 00:30:00 --drain-seconds 60 --cpus 1 \
      --output "$work/serve-%j.out" --wait 180)
echo "$out"
job=$(echo "$out" | sed -n 's/^submitted Lumen server job //p')
conn=$LUMEN_HOME/jobs/$job.json
[ -s "$conn" ] || fail "no connection file $conn"
[ "$(stat -c %a "$conn")" = 600 ] || fail "connection file mode $(stat -c %a "$conn")"
[ "$(stat -c %a "$LUMEN_HOME/jobs")" = 700 ] || fail "jobs dir mode $(stat -c %a "$LUMEN_HOME/jobs")"
ok "connection file $conn is 0600 in a 0700 directory"
token=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["token"])' "$conn")
sport=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$conn")
"$lumen" cluster list --slurm-env "$LUMEN_SERVICES_DIR/env.sh" | tee "$work/list.txt"
grep -q "^$job " "$work/list.txt" || fail "cluster list does not show job $job"

common=(--login "$LUMEN_SSH_USER@$LUMEN_SSHD_HOST:$LUMEN_SSHD_PORT" --identity "$LUMEN_SSH_KEY" --ssh-config /dev/null
        --remote-env "SLURM_CONF=$SLURM_CONF" --remote-env "LUMEN_HOME=$LUMEN_HOME")

echo "== host keys"
lp=$(free_port 18100)
: > "$work/empty_known_hosts"
if "$lumen" tunnel "${common[@]}" --known-hosts "$work/empty_known_hosts" --local-port "$lp" > "$work/unknown.out" 2>&1; then
  fail "an unknown host key was accepted"; fi
grep -q "is not known" "$work/unknown.out" || { cat "$work/unknown.out"; fail "no clear message for an unknown key"; }
! ss -Htln | grep -q "127.0.0.1:$lp " || fail "something listens on $lp after a refusal"
ok "unknown host key refused: $(grep -o 'the host key of [^ ]* is not known' "$work/unknown.out")"
ssh-keygen -q -t ed25519 -N '' -f "$work/other_key"
echo "[127.0.0.1]:$LUMEN_SSHD_PORT $(cut -d' ' -f1,2 "$work/other_key.pub")" > "$work/changed_known_hosts"
if "$lumen" tunnel "${common[@]}" --known-hosts "$work/changed_known_hosts" --accept-new --local-port "$lp" > "$work/changed.out" 2>&1; then
  fail "a changed host key was accepted"; fi
grep -q "HAS CHANGED" "$work/changed.out" || { cat "$work/changed.out"; fail "no clear message for a changed key"; }
ok "changed host key refused, even with --accept-new"

echo "== tunnel"
lp=$(free_port 18000)
"$lumen" tunnel "${common[@]}" --known-hosts "$LUMEN_SSH_KNOWN_HOSTS" --local-port "$lp" --keepalive 1 --print-ssh \
  > "$work/tunnel.out" 2> "$work/tunnel.err" &
tunnel_pid=$!
for _ in $(seq 1 100); do grep -q forwarding "$work/tunnel.out" 2>/dev/null && break; sleep 0.1; done
cat "$work/tunnel.out" | sed "s/$token/<token>/g"
url=$(sed -n 's/.*use the server  \(http[^ ]*\).*/\1/p' "$work/tunnel.out")
[ "$url" = "http://127.0.0.1:$lp/$token" ] || fail "unexpected URL line"
"$py" scripts/live/client_check.py --server "$url" --image "$image" | tee "$work/client.out" | sed "s/$token/<token>/g"
tail -n1 "$work/client.out" | grep -q "client check passed" || fail "client_check: $(tail -n1 "$work/client.out")"
ok "monailabel client through the tunnel"

echo "== dropped link"
master=$(cat "$LUMEN_SERVICES_DIR/sshd/sshd.pid")
children=$(pgrep -P "$master" || true)
[ -n "$children" ] || fail "no sshd child serves the tunnel"
kill -KILL $children
t0=$(date +%s.%N)
back=
for _ in $(seq 1 100); do
  if curl -fsS -m 2 "$url/info/" -o /dev/null 2>/dev/null; then back=$(date +%s.%N); break; fi
  sleep 0.05
done
[ -n "$back" ] || fail "no answer through the tunnel after killing its sshd connection"
secs=$(python3 -c "print(round($back - $t0, 2))")
python3 -c "import sys; sys.exit(0 if $back - $t0 <= 5 else 1)" || fail "took $secs s"
grep -q reconnected "$work/tunnel.err" || fail "the tunnel did not say it reconnected"
ok "sshd connection killed: a request succeeded again after $secs s"
"$py" - "$url" <<'PY'
import sys, tempfile
from monailabel.client import MONAILabelClient
print("ok: /info/ after the reconnect lists", sorted(MONAILabelClient(sys.argv[1], tmpdir=tempfile.mkdtemp()).info()["models"]))
PY

if [ "${LUMEN_TUNNEL_PERF:-0}" = 1 ]; then
  echo "== cost: 512x512x200 through the tunnel vs direct"
  "$py" - "$work/big.nii.gz" <<'PY'
import sys, numpy as np, nibabel as nib
rng = np.random.default_rng(0)
z = np.linspace(-1, 1, 200)[None, None, :]; y = np.linspace(-1, 1, 512)[None, :, None]; x = np.linspace(-1, 1, 512)[:, None, None]
vol = (1000 * np.exp(-(x**2 + y**2 + z**2) * 3) - 1000 + rng.normal(0, 20, (512, 512, 200))).astype(np.int16)
nib.save(nib.Nifti1Image(vol, np.diag([0.7, 0.7, 1.5, 1])), sys.argv[1])
PY
  "$py" scripts/bench/tunnel_perf.py --direct "http://127.0.0.1:$sport/$token" --tunnel "$url" --image "$work/big.nii.gz" \
    --rounds "${LUMEN_TUNNEL_ROUNDS:-3}" | tee "$work/perf.out" | sed "s/$token/<token>/g"
fi

echo "== ssh config alias and ssh-agent"
# What a hospital user has: an alias in ~/.ssh/config (HostName, Port, User) and the key in an
# agent, no --identity. The tunnel must find the job through them alone.
cat > "$work/ssh_config" <<CFG
Host lumen-login
  HostName $LUMEN_SSHD_HOST
  Port $LUMEN_SSHD_PORT
  User $LUMEN_SSH_USER
CFG
eval "$(ssh-agent -s)" >/dev/null
ssh-add -q "$LUMEN_SSH_KEY" 2>/dev/null
lp2=$(free_port 18100)
"$lumen" tunnel --login lumen-login --ssh-config "$work/ssh_config" --known-hosts "$LUMEN_SSH_KNOWN_HOSTS" \
  --remote-env "SLURM_CONF=$SLURM_CONF" --remote-env "LUMEN_HOME=$LUMEN_HOME" --job "$job" --local-port "$lp2" \
  > "$work/alias.out" 2> "$work/alias.err" &
alias_pid=$!
for _ in $(seq 1 100); do grep -q forwarding "$work/alias.out" 2>/dev/null && break; sleep 0.1; done
alias_ok=
curl -fsS -m 10 "http://127.0.0.1:$lp2/$token/info/" -o "$work/alias-info.json" 2>/dev/null && alias_ok=1
kill "$alias_pid" 2>/dev/null || true; wait "$alias_pid" 2>/dev/null || true
ssh-agent -k >/dev/null 2>&1 || true
[ -n "$alias_ok" ] || { sed "s/$token/<token>/g" "$work/alias.err"; fail "no answer through a tunnel opened by alias and agent"; }
ok "a ~/.ssh/config alias (HostName, Port, User) and a key in ssh-agent, no --identity: /info/ through the tunnel"

echo "== second hop: a login node that forwards only to the compute node's sshd"
# login2: another sshd on loopback, with its own host key, that opens connections only to
# 127.0.0.1:$LUMEN_SSHD_PORT (PermitOpen): the services' sshd, which plays the compute node's sshd
# here. The server's port is out of login2's reach, as it is on a cluster where Lumen binds the
# node's loopback, so the tunnel must go login2 -> the node's sshd -> 127.0.0.1:<port> on the node.
l2=$work/login2
mkdir -p "$l2"
ssh-keygen -q -t ed25519 -N '' -C lumen-test-login2 -f "$l2/host_ed25519"
l2port=$(free_port 22300)
cat > "$l2/sshd_config" <<CFG
Port $l2port
ListenAddress 127.0.0.1
HostKey $l2/host_ed25519
PidFile $l2/sshd.pid
AuthorizedKeysFile $LUMEN_SERVICES_DIR/sshd/authorized_keys_%u
StrictModes no
UsePAM no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowTcpForwarding yes
PermitOpen 127.0.0.1:$LUMEN_SSHD_PORT
LogLevel VERBOSE
CFG
/usr/sbin/sshd -f "$l2/sshd_config" -E "$l2/sshd.log"
for _ in $(seq 1 50); do ss -Htln | grep -q "127.0.0.1:$l2port " && break; sleep 0.1; done
node=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["node"])' "$conn")
echo "[127.0.0.1]:$l2port $(cut -d' ' -f1,2 "$l2/host_ed25519.pub")" > "$work/hop_known_hosts"
hop=(--login "$LUMEN_SSH_USER@127.0.0.1:$l2port" --identity "$LUMEN_SSH_KEY" --ssh-config /dev/null --job "$job"
     --remote-env "SLURM_CONF=$SLURM_CONF" --remote-env "LUMEN_HOME=$LUMEN_HOME" --node-ssh-port "$LUMEN_SSHD_PORT"
     --known-hosts "$work/hop_known_hosts" --keepalive 1)
lp3=$(free_port 18200)
if "$lumen" tunnel "${hop[@]}" --local-port "$lp3" > "$work/hop-unknown.out" 2>&1; then
  fail "the node's unknown host key was accepted"; fi
grep -q "the host key of \[$node\]:$LUMEN_SSHD_PORT is not known\|the host key of $node:$LUMEN_SSHD_PORT is not known" "$work/hop-unknown.out" \
  || { cat "$work/hop-unknown.out"; fail "no clear message for the node's unknown key"; }
! ss -Htln | grep -q "127.0.0.1:$lp3 " || fail "something listens on $lp3 after a refusal"
ok "the compute node's unknown host key refused: $(grep -o 'the host key of [^ ]* is not known' "$work/hop-unknown.out")"
echo "[$node]:$LUMEN_SSHD_PORT $(cut -d' ' -f1,2 "$LUMEN_SSHD_HOST_KEY_PUB")" >> "$work/hop_known_hosts"
"$lumen" tunnel "${hop[@]}" --local-port "$lp3" --print-ssh > "$work/hop.out" 2> "$work/hop.err" &
hop_pid=$!
for _ in $(seq 1 100); do grep -q forwarding "$work/hop.out" 2>/dev/null && break; sleep 0.1; done
sed "s/$token/<token>/g" "$work/hop.out"
grep -q "using a second hop through $node" "$work/hop.err" || { cat "$work/hop.err"; fail "the tunnel did not take the second hop"; }
grep -q "denied" "$l2/sshd.log" || fail "login2 did not refuse the direct forward (its PermitOpen is not in force)"
hop_url="http://127.0.0.1:$lp3/$token"
"$py" scripts/live/client_check.py --server "$hop_url" --image "$image" > "$work/hop-client.out" 2>&1 || true
tail -n1 "$work/hop-client.out" | grep -q "client check passed" \
  || { sed "s/$token/<token>/g" "$work/hop-client.out" "$work/hop.err"; fail "monailabel client through the second hop"; }
ok "login2 refused the direct forward; the monailabel client (/info/, segmentation) passed through login2 and $node's sshd"
kill -KILL $(pgrep -P "$(cat "$l2/sshd.pid")")
t0=$(date +%s.%N); back=
for _ in $(seq 1 100); do
  if curl -fsS -m 2 "$hop_url/info/" -o /dev/null 2>/dev/null; then back=$(date +%s.%N); break; fi
  sleep 0.05
done
[ -n "$back" ] || { sed "s/$token/<token>/g" "$work/hop.err"; fail "no answer through the second hop after killing login2's connection"; }
secs=$(python3 -c "print(round($back - $t0, 2))")
python3 -c "import sys; sys.exit(0 if $back - $t0 <= 5 else 1)" || fail "the second hop took $secs s to come back"
ok "login2's connection killed: a request succeeded through both hops again after $secs s"
kill "$hop_pid" 2>/dev/null || true; wait "$hop_pid" 2>/dev/null || true

echo "== drain"
kill "$tunnel_pid"; wait "$tunnel_pid" 2>/dev/null || true; tunnel_pid=
scancel --signal=USR1 --batch "$job"
for _ in $(seq 1 50); do grep -q "draining" "$work/serve-$job.out" 2>/dev/null && break; sleep 0.2; done
for _ in $(seq 1 150); do [ -e "$conn" ] || break; sleep 0.2; done
[ ! -e "$conn" ] || fail "connection file still there after the drain"
ok "USR1 drained the server; the connection file is gone"
job=

echo "== secrets"
for f in "$work/serve-"*.out "$work/tunnel.err" "$work/alias.err" "$work/hop.err" "$work/hop-unknown.out" "$work/login2/sshd.log" "$LUMEN_SERVICES_DIR/sshd/sshd.log" "$work/unknown.out" "$work/changed.out"; do
  ! grep -qF "$token" "$f" || fail "the token appears in $f"
done
[ "$(grep -cF "$token" "$work/tunnel.out")" = 1 ] || fail "the token appears in the tunnel's output other than the URL line"
ok "the token is in no log line (server job log, tunnel log, sshd log); only the tunnel's URL line shows it"
echo success
