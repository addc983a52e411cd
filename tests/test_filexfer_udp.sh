#!/bin/bash
# The file tools over the UDP carrier (see filexfer_common.sh).
CARRIER=udp
. "$(dirname "$0")/filexfer_common.sh"
