#!/bin/sh
# Render deploy/asterisk/*.conf from the environment (RCP_ARI_PASSWORD, RCP_CARRIER_HOST,
# RCP_CARRIER_ADDRESSES, ...: see deploy/asterisk/README.md) with the one renderer the local
# stack uses too, then run Asterisk. A bad setting stops here, with a message naming it.
set -eu
: "${RCP_ASTERISK_HTTP_HOST:=0.0.0.0}"
: "${RCP_ASTERISK_SIP_HOST:=0.0.0.0}"
export RCP_ASTERISK_HTTP_HOST RCP_ASTERISK_SIP_HOST
PYTHONPATH=/usr/lib/receptionist python3 -m rcp_asterisk /usr/share/receptionist/asterisk /etc/asterisk
exec asterisk -f -n -U asterisk -G asterisk
