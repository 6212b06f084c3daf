#!/bin/sh
# Render deploy/asterisk/*.conf (@{name} placeholders) from the environment, then run Asterisk.
set -eu
: "${RCP_ARI_PASSWORD:?set RCP_ARI_PASSWORD}"
for template in /usr/share/receptionist/asterisk/*.conf; do
    sed -e "s|@{http_host}|${RCP_ASTERISK_HTTP_HOST:-0.0.0.0}|g" \
        -e "s|@{http_port}|8088|g" \
        -e "s|@{ari_user}|${RCP_ARI_USER:-receptionist}|g" \
        -e "s|@{ari_password}|${RCP_ARI_PASSWORD}|g" \
        -e "s|@{app}|${RCP_ARI_APP:-receptionist}|g" \
        -e "s|@{test_phones_app}|test-phones|g" \
        -e "s|@{sip_host}|0.0.0.0|g" \
        -e "s|@{sip_port}|${RCP_ASTERISK_SIP_PORT:-5060}|g" \
        -e "s|@{carrier_host}|${RCP_CARRIER_HOST:-127.0.0.1}|g" \
        -e "s|@{rtp_start}|${RCP_ASTERISK_RTP_START:-10000}|g" \
        -e "s|@{rtp_end}|${RCP_ASTERISK_RTP_END:-10199}|g" \
        -e "s|@{fallback_dial}|${RCP_FALLBACK_DIAL:-}|g" \
        "$template" >"/etc/asterisk/$(basename "$template")"
done
exec asterisk -f -n -U asterisk -G asterisk
