# SPDX-License-Identifier: GPL-2.0
# `make demo`, act "wipe": a tenant leaves.  Sourced by
# scripts/demo.sh after its control-plane act (tenantd stopped, tenant
# 'initech' with volume 'web' on $TD_LOCAL and $TD_ZONE, detached).
# See Documentation/destruction.md.

say "initech ends its contract: it takes its records with it, then everything is destroyed, with a certificate."
echo "tenant-admin uid=1003 tenant=initech" >>"$TD_CONF"
echo "    initech's administrator is uid 1003 (tenant-admin in tenantd.conf)."
tenantd -c "$TD_CONF" -d "$TD_ST/tenantd.db" -k "$TD_ST/master.key" \
	-s "$TENANTD_SOCKET" 2>>"$TD_W/tenantd.log" &
TD_PID=$!
on_exit 'kill -TERM $TD_PID 2>/dev/null; wait $TD_PID 2>/dev/null; true'
wait_for_file "$TENANTD_SOCKET" 20 || { cat "$TD_W/tenantd.log"; fail "tenantd did not start"; }
tadmin() { as_uid 1003 "$@"; }
mkdir -p "$TD_W/initech" && chown 1003 "$TD_W/initech" && chmod 700 "$TD_W/initech"
EXP=$TD_W/initech/audit.jsonl

say "First the tenant admin exports initech's audit records: JSON lines, each record checkable on its own."
run tadmin tenantctl tenant audit-export initech -o "$EXP"
echo "    $(grep -c '"seq"' "$EXP") records of initech; the last line names the head of the whole chain:"
tail -n1 "$EXP" | sed 's/^/      /'
run tadmin tenantctl tenant audit-verify "$EXP"

say "Then its data: the plaintext of 'web', streamed by tenantd into a pipe; only initech's admin may ask."
echo "    The operator may not (it never gets plaintext):"
refused_with 3 tenantctl volume export initech web -o "$TD_W/op-copy.img"
run tadmin tenantctl volume export initech web -o "$TD_W/initech/web.img"
echo "    What vm1 wrote is in the export, readable:"
cmp -n 4096 "$TD_W/guest" "$TD_W/initech/web.img" || fail "the export lacks vm1's data"
head -c 60 "$TD_W/initech/web.img" | sed 's/^/      /'; echo
echo "    and no mapping is left behind: $(dmsetup ls | grep -c tenant-export || true) export device(s)."

say "The operator deletes the tenant: crypto-shred of every leg, the KEK gone from the database, then zeros, verified."
echo "    Before: each leg starts with a LUKS2 header whose keyslot opens with initech's KEK."
run cryptsetup isLuks -v "$TD_LOCAL"
run tenantctl tenant delete initech --force --wipe zero --verify full --wait \
	--cert "$TD_W/initech-cert.json"
echo "    After: no header, no keyslot, no token on either leg, and every byte reads as zero:"
refused cryptsetup isLuks -v "$TD_LOCAL"
for l in "$TD_LOCAL" "$TD_ZONE"; do
	if cmp -s -n "$(blockdev --getsize64 "$l")" "$l" /dev/zero; then
		echo "      $l: all $(blockdev --getsize64 "$l") bytes are zero"
	else
		fail "$l is not all zeros"
	fi
done
echo "    tenantd no longer knows initech; an attach is refused:"
refused tenantctl volume attach initech web --vm vm1

say "The certificate of sanitization (NIST SP 800-88 Appendix G fields), bound to the audit chain both ways:"
WJOB=$(sed -n 's/^ *"job": *\([0-9]*\).*/\1/p' "$TD_W/initech-cert.json" | head -1)
run tenantctl wipe cert "$WJOB" --text
run tenantctl cert verify "$TD_W/initech-cert.json"
echo "    A certificate edited afterwards (here: one figure changed) no longer verifies:"
sed -E 's/"bytes_read": ?([0-9])/"bytes_read":9\1/' "$TD_W/initech-cert.json" >"$TD_W/forged-cert.json"
refused_with 8 tenantctl cert verify "$TD_W/forged-cert.json"
kill -TERM "$TD_PID"; wait "$TD_PID" || fail "tenantd exited with an error"
TD_PID=
