#!/bin/sh
# Kubernetes' init container (k8s/base/telephony.yaml): Asterisk runs as its own user on a
# read-only root file system, so what it writes lives in volumes, filled here from the image
# (the packaged configuration, the astdb's and the spool's folders), then the configuration
# rendered over the packaged one from the environment by the one renderer (rcp_asterisk). A
# bad setting, or the development ARI password in production, stops here with one line.
#
#   rcp-asterisk-prepare ROOT     fills ROOT/etc, ROOT/lib and ROOT/spool (each a volume)
set -eu
root="$1"
cp -R /etc/asterisk/. "$root/etc/"
cp -R /var/lib/asterisk/. "$root/lib/"
cp -R /var/spool/asterisk/. "$root/spool/"
PYTHONPATH=/usr/lib/receptionist exec python3 -m rcp_asterisk /usr/share/receptionist/asterisk "$root/etc"
