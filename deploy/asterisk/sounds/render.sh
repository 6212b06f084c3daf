#!/bin/sh
# Render the fixed prompts Asterisk plays on its own (the dialplan's fallback, while no
# stasis service is connected) from the texts beside this script: <name>.<lang>.txt becomes
# <out>/rcp/<name>-<lang>.wav, 8 kHz mono 16-bit, spoken by espeak-ng. Used by rcp-stack
# for the local Asterisk and by the Asterisk image.
# Usage: render.sh <Asterisk sounds folder>
set -eu
out="$1/rcp"
here=$(dirname "$0")
mkdir -p "$out"
for text in "$here"/*.txt; do
    base=$(basename "$text" .txt)
    name=${base%.*}
    lang=${base##*.}
    spoken=$(mktemp --suffix=.wav)
    espeak-ng -v "$lang" -s 150 -w "$spoken" -f "$text"
    sox "$spoken" -r 8000 -c 1 -b 16 "$out/$name-$lang.wav"
    rm -f "$spoken"
done
